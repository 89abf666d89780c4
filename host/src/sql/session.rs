//! One plugin call's use of `sql`: its connection's target, credential and write permission,
//! and how many statements it may still run.

use std::time::Instant;

use secrecy::SecretString;

use super::statement::Statement;
use super::{Rows, SqlError, SqlPools, SqlTarget, Value};

/// What a call's `sql` import may do. Built by the runtime for each call of a plugin that
/// imports `sql`; never shown to the guest.
pub struct SqlSession {
    pools: SqlPools,
    tenant: String,
    connection: String,
    /// The target and credential, or why the call has none.
    access: Result<Access, SqlError>,
    writes: bool,
    statements_left: u32,
    deadline: Instant,
    /// The pool, once the first statement looked it up: the rest of the call reuses it.
    pool: Option<super::pools::Pool>,
}

struct Access {
    target: SqlTarget,
    username: String,
    password: SecretString,
}

/// Who a session is for and what it may reach.
pub struct SessionGrant {
    /// The tenant the call runs for.
    pub tenant: String,
    /// The connection whose pool it uses.
    pub connection: String,
    /// The target bound to the credential and the credential's user and password, or why
    /// the call may not connect (no credential, no bound target, a refused host).
    pub access: Result<(SqlTarget, String, SecretString), SqlError>,
    /// Whether statements may write.
    pub writes: bool,
    /// When the call's deadline passes.
    pub deadline: Instant,
}

impl SqlSession {
    /// A session on `pools` within `grant`.
    pub fn new(pools: SqlPools, grant: SessionGrant) -> Self {
        let statements_left = pools.limits().max_statements_per_call;
        Self {
            tenant: grant.tenant,
            connection: grant.connection,
            access: grant.access.map(|(target, username, password)| Access {
                target,
                username,
                password,
            }),
            writes: grant.writes,
            statements_left,
            deadline: grant.deadline,
            pool: None,
            pools,
        }
    }

    /// Statements one call may run.
    pub fn max_statements(&self) -> u32 {
        self.pools.limits().max_statements_per_call
    }

    /// The statement timeout, in milliseconds.
    pub fn statement_timeout_ms(&self) -> u64 {
        self.pools.limits().statement_timeout.as_millis() as u64
    }

    /// Runs a query; its rows, within the caps.
    pub async fn query(&mut self, text: &str, params: Vec<Value>) -> Result<Rows, SqlError> {
        let span = statement_span(text);
        let result = tracing::Instrument::instrument(
            async {
                let (pool, statement) = self.prepare(text, params).await?;
                statement.query(&pool, self.pools.limits()).await
            },
            span.clone(),
        )
        .await;
        end_statement_span(&span, result.as_ref().map(|rows| rows.rows.len() as u64));
        result
    }

    /// Runs a statement; the rows it changed.
    pub async fn execute(&mut self, text: &str, params: Vec<Value>) -> Result<u64, SqlError> {
        let span = statement_span(text);
        let result = tracing::Instrument::instrument(
            async {
                let (pool, statement) = self.prepare(text, params).await?;
                statement.execute(&pool, self.pools.limits()).await
            },
            span.clone(),
        )
        .await;
        end_statement_span(&span, result.as_ref().copied());
        result
    }

    async fn prepare<'a>(
        &mut self,
        text: &'a str,
        params: Vec<Value>,
    ) -> Result<(super::pools::Pool, Statement<'a>), SqlError> {
        if self.statements_left == 0 {
            return Err(SqlError::BudgetExhausted);
        }
        self.statements_left -= 1;
        // Before any connection is taken: a refused statement never reaches the database.
        super::boundary::check(text, self.writes)?;
        let pool = match &self.pool {
            Some(pool) => pool.clone(),
            None => {
                let access = self.access.as_ref().map_err(Clone::clone)?;
                let pool = self
                    .pools
                    .pool(
                        &self.tenant,
                        &self.connection,
                        &access.target,
                        &access.username,
                        &access.password,
                    )
                    .await?;
                self.pool = Some(pool.clone());
                pool
            }
        };
        let statement = Statement {
            text,
            params,
            writes: self.writes,
            deadline: self.deadline,
        };
        Ok((pool, statement))
    }
}

/// The span of one statement: its kind (the first keyword, from a fixed list), never its text,
/// which may carry values.
fn statement_span(text: &str) -> tracing::Span {
    if !crate::telemetry::enabled() {
        return tracing::Span::none();
    }
    let keyword = text
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    const KINDS: &[&str] = &[
        "SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "SHOW", "EXPLAIN", "VALUES",
        "TABLE",
    ];
    let kind = KINDS
        .iter()
        .find(|kind| **kind == keyword)
        .copied()
        .unwrap_or("other");
    crate::otel_span!(
        "sql statement",
        otel.name = kind,
        otel.kind = "client",
        db.system.name = "postgresql",
        db.operation.name = kind,
        db.response.returned_rows = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

fn end_statement_span(span: &tracing::Span, rows: Result<u64, &SqlError>) {
    match rows {
        Ok(rows) => {
            span.record("db.response.returned_rows", rows);
        }
        Err(error) => {
            span.record("otel.status_code", "error");
            span.record("error.type", error.code());
        }
    }
}
