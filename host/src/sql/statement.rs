//! Runs one statement on a pooled session: in a transaction of its own (read-only unless
//! writes are allowed), under `statement_timeout`, fetching rows through a portal a chunk at a
//! time, each chunk read from the socket under the meter armed with what the byte cap still
//! allows, so no more than the caps ever reach the host, whatever the rows' sizes.

use std::time::{Duration, Instant};

use deadpool::managed::Object;
use futures::StreamExt as _;
use tokio_postgres::types::ToSql;

use super::pools::{Pool, PooledSession, pool_error};
use super::values::{Cell, Param};
use super::{SqlError, SqlLimits, Value};

/// Rows fetched from the portal at once.
const FETCH_CHUNK: usize = 100;
/// How long past the statement timeout the host waits for the database to cancel it before
/// it drops the connection itself.
const CANCEL_GRACE: Duration = Duration::from_millis(500);

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its PostgreSQL type.
    pub type_name: String,
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows, each a value per column.
    pub rows: Vec<Vec<Value>>,
    /// The host stopped at its row or byte cap.
    pub truncated: bool,
}

/// What to run, and under which rules.
pub(super) struct Statement<'a> {
    pub(super) text: &'a str,
    pub(super) params: Vec<Value>,
    pub(super) writes: bool,
    pub(super) deadline: Instant,
}

impl Statement<'_> {
    /// Runs a statement that returns rows.
    pub(super) async fn query(self, pool: &Pool, limits: &SqlLimits) -> Result<Rows, SqlError> {
        let writes = self.writes;
        let caps = (limits.max_rows as usize, limits.max_result_bytes);
        self.run(pool, limits, async move |session, text, params, timeout| {
            let meter = session.meter.clone();
            let tx = begin(session, writes, timeout).await?;
            let statement = prepare(&tx, text, &params).await?;
            let columns = statement
                .columns()
                .iter()
                .map(|c| Column {
                    name: c.name().to_owned(),
                    type_name: c.type_().name().to_owned(),
                })
                .collect();
            let portal = tx
                .bind_raw(&statement, params.iter().map(|p| p as &dyn ToSql))
                .await
                .map_err(|e| SqlError::from_driver(&e))?;
            let (rows, truncated) = fetch(&tx, &portal, &meter, caps).await?;
            drop(portal);
            // A tripped meter ended the session: nothing to commit (the statement only read),
            // and the rows already held are the answer.
            if !meter.tripped() {
                tx.commit().await.map_err(|e| SqlError::from_driver(&e))?;
            }
            Ok(Rows {
                columns,
                rows,
                truncated,
            })
        })
        .await
    }

    /// Runs a statement that returns no rows; the rows affected.
    pub(super) async fn execute(self, pool: &Pool, limits: &SqlLimits) -> Result<u64, SqlError> {
        if !self.writes {
            return Err(SqlError::Denied(
                "this connection does not allow writes (config `allow_writes`)".into(),
            ));
        }
        self.run(pool, limits, async move |client, text, params, timeout| {
            let tx = begin(client, true, timeout).await?;
            let statement = prepare(&tx, text, &params).await?;
            let affected = tx
                .execute_raw(&statement, params.iter().map(|p| p as &dyn ToSql))
                .await
                .map_err(|e| SqlError::from_driver(&e))?;
            tx.commit().await.map_err(|e| SqlError::from_driver(&e))?;
            Ok(affected)
        })
        .await
    }

    /// Takes a connection and runs `body` on it within the timeout; a connection whose
    /// statement outlived the timeout is dropped, not returned to the pool.
    async fn run<T>(
        self,
        pool: &Pool,
        limits: &SqlLimits,
        body: impl AsyncFnOnce(&mut PooledSession, &str, Vec<Param>, Duration) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = limits.statement_timeout.min(remaining);
        if timeout.is_zero() {
            return Err(SqlError::Timeout);
        }
        let mut client = tokio::time::timeout(timeout, pool.get())
            .await
            .map_err(|_| SqlError::Timeout)?
            .map_err(pool_error)?;
        let params = self.params.into_iter().map(Param).collect();
        let outcome = tokio::time::timeout(
            timeout + CANCEL_GRACE,
            body(&mut client, self.text, params, timeout),
        )
        .await;
        client.meter.disarm();
        match outcome {
            Ok(result) => {
                // Whatever the statement left on the session (settings, advisory locks,
                // `LISTEN`, temporary tables, prepared statements) ends with it, not at the
                // next checkout; a session that cannot be reset is never reused.
                let reset =
                    tokio::time::timeout(CANCEL_GRACE, client.client.batch_execute("DISCARD ALL"))
                        .await;
                if client.meter.tripped() || !matches!(reset, Ok(Ok(()))) {
                    drop(Object::take(client));
                }
                result
            }
            Err(_elapsed) => {
                // The connection is mid-statement: never hand it to another call.
                drop(Object::take(client));
                Err(SqlError::Timeout)
            }
        }
    }
}

async fn begin<'c>(
    session: &'c mut PooledSession,
    writes: bool,
    timeout: Duration,
) -> Result<tokio_postgres::Transaction<'c>, SqlError> {
    let tx = session
        .client
        .build_transaction()
        .read_only(!writes)
        .start()
        .await
        .map_err(|e| SqlError::from_driver(&e))?;
    let millis = timeout.as_millis().max(1);
    // `SELECT 1` takes the transaction's snapshot, after which PostgreSQL refuses to make a
    // read-only transaction read-write (`SET TRANSACTION READ WRITE` in the statement).
    tx.batch_execute(&format!("SET LOCAL statement_timeout = {millis}; SELECT 1"))
        .await
        .map_err(|e| SqlError::from_driver(&e))?;
    Ok(tx)
}

async fn prepare(
    tx: &tokio_postgres::Transaction<'_>,
    text: &str,
    params: &[Param],
) -> Result<tokio_postgres::Statement, SqlError> {
    let statement = tx
        .prepare(text)
        .await
        .map_err(|e| SqlError::from_driver(&e))?;
    if statement.params().len() != params.len() {
        return Err(SqlError::InvalidStatement(format!(
            "the statement takes {} parameters; {} given",
            statement.params().len(),
            params.len()
        )));
    }
    Ok(statement)
}

/// Reads the portal's rows a chunk at a time until it ends or a cap is reached. Rows arrive
/// one by one as the socket delivers them; before each chunk the meter is armed with the bytes
/// the cap still allows, so an oversized row ends the session instead of filling memory.
async fn fetch(
    tx: &tokio_postgres::Transaction<'_>,
    portal: &tokio_postgres::Portal,
    meter: &super::metered::Meter,
    (max_rows, max_bytes): (usize, usize),
) -> Result<(Vec<Vec<Value>>, bool), SqlError> {
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    loop {
        // One more than the cap allows, to know whether there was more.
        let want = (max_rows + 1 - rows.len()).min(FETCH_CHUNK);
        meter.arm(max_bytes.saturating_sub(bytes));
        let chunk = match tx.query_portal_raw(portal, want as i32).await {
            Ok(chunk) => chunk,
            Err(_) if meter.tripped() => return Ok((rows, true)),
            Err(e) => return Err(SqlError::from_driver(&e)),
        };
        let mut chunk = std::pin::pin!(chunk);
        let mut received = 0;
        while let Some(row) = chunk.next().await {
            let row = match row {
                Ok(row) => row,
                // Past the byte cap before the row was whole: what is held is the answer.
                Err(_) if meter.tripped() => return Ok((rows, true)),
                Err(e) => return Err(SqlError::from_driver(&e)),
            };
            received += 1;
            if rows.len() == max_rows {
                return Ok((rows, true));
            }
            let mut values = Vec::with_capacity(row.len());
            for index in 0..row.len() {
                let Cell(value) = row.try_get::<_, Cell>(index).map_err(|error| {
                    let why = std::error::Error::source(&error)
                        .map_or_else(|| error.to_string(), ToString::to_string);
                    SqlError::InvalidStatement(format!(
                        "column `{}`: {why}",
                        row.columns()[index].name()
                    ))
                })?;
                bytes += value.weight();
                values.push(value);
            }
            if bytes > max_bytes {
                return Ok((rows, true));
            }
            rows.push(values);
        }
        if received < want {
            return Ok((rows, false));
        }
    }
}
