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
        let (pool, statement) = self.prepare(text, params).await?;
        statement.query(&pool, self.pools.limits()).await
    }

    /// Runs a statement; the rows it changed.
    pub async fn execute(&mut self, text: &str, params: Vec<Value>) -> Result<u64, SqlError> {
        let (pool, statement) = self.prepare(text, params).await?;
        statement.execute(&pool, self.pools.limits()).await
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
