//! Runs one statement on a pooled connection: in a transaction of its own (read-only unless
//! writes are allowed), under `statement_timeout`, fetching rows through a portal a chunk at a
//! time so no more than the caps ever reach the host.

use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;

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
    pub name: String,
    pub type_name: String,
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub columns: Vec<Column>,
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
        self.run(pool, limits, async move |client, text, params, timeout| {
            let tx = begin(client, writes, timeout).await?;
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
            let (rows, truncated) = fetch(&tx, &portal, caps).await?;
            drop(portal);
            tx.commit().await.map_err(|e| SqlError::from_driver(&e))?;
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
        body: impl AsyncFnOnce(&mut Object, &str, Vec<Param>, Duration) -> Result<T, SqlError>,
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
        match outcome {
            Ok(result) => {
                // Whatever the statement left on the session (settings, advisory locks,
                // `LISTEN`, temporary tables, prepared statements) ends with it, not at the
                // next checkout; a session that cannot be reset is never reused.
                let reset =
                    tokio::time::timeout(CANCEL_GRACE, client.batch_execute("DISCARD ALL")).await;
                if !matches!(reset, Ok(Ok(()))) {
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
    client: &'c mut Object,
    writes: bool,
    timeout: Duration,
) -> Result<deadpool_postgres::Transaction<'c>, SqlError> {
    let tx = client
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
    tx: &deadpool_postgres::Transaction<'_>,
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

/// Reads the portal's rows a chunk at a time until it ends or a cap is reached.
async fn fetch(
    tx: &deadpool_postgres::Transaction<'_>,
    portal: &tokio_postgres::Portal,
    (max_rows, max_bytes): (usize, usize),
) -> Result<(Vec<Vec<Value>>, bool), SqlError> {
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    loop {
        // One more than the cap allows, to know whether there was more.
        let want = (max_rows + 1 - rows.len()).min(FETCH_CHUNK);
        let chunk = tx
            .query_portal(portal, want as i32)
            .await
            .map_err(|e| SqlError::from_driver(&e))?;
        let ended = chunk.len() < want;
        for row in chunk {
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
        if ended {
            return Ok((rows, false));
        }
    }
}

pub(super) fn pool_error(error: deadpool_postgres::PoolError) -> SqlError {
    use deadpool_postgres::{PoolError, TimeoutType};
    match error {
        PoolError::Backend(error) => SqlError::from_driver(&error),
        // A database that accepts the connection but never finishes the handshake (a slow or
        // hostile peer) is a failed connection, not a slow statement.
        PoolError::Timeout(TimeoutType::Create | TimeoutType::Recycle) => {
            SqlError::ConnectionFailed(
                "the database did not complete the connection in time".into(),
            )
        }
        // Every connection of the pool stayed busy past the statement timeout.
        PoolError::Timeout(TimeoutType::Wait) => SqlError::Timeout,
        PoolError::Closed => SqlError::ConnectionFailed("the connection's pool was closed".into()),
        other => SqlError::ConnectionFailed(other.to_string()),
    }
}
