//! The `sql` import of database connectors: statements run by [`crate::sql`] on the calling
//! connection's pool. A plugin that imports `sql` but whose call has no session (the loader's
//! `info()` check) is refused, as is every statement past the call's limits.

use super::call_state::{CallState, Violation};
use super::contract::wit_sql::sql;
use crate::sql::{Rows, SqlError, Value};

impl sql::Host for CallState {
    async fn query(
        &mut self,
        statement: String,
        params: Vec<sql::SqlValue>,
    ) -> Result<sql::Rows, sql::SqlError> {
        let Some(session) = self.sql.as_mut() else {
            return Err(no_session());
        };
        let params = params.into_iter().map(from_wit).collect();
        let result = session.query(&statement, params).await;
        self.log_sql_refusal(result.as_ref().err());
        result.map(rows_to_wit).map_err(error_to_wit)
    }

    async fn execute(
        &mut self,
        statement: String,
        params: Vec<sql::SqlValue>,
    ) -> Result<u64, sql::SqlError> {
        let Some(session) = self.sql.as_mut() else {
            return Err(no_session());
        };
        let params = params.into_iter().map(from_wit).collect();
        let result = session.execute(&statement, params).await;
        self.log_sql_refusal(result.as_ref().err());
        result.map_err(error_to_wit)
    }
}

impl CallState {
    /// Logs a refused or failed statement, and records the refusals that are the host's own
    /// limits, so a guest that swallows them still fails with the right cause.
    fn log_sql_refusal(&mut self, error: Option<&SqlError>) {
        if let Some(error) = error {
            let session = self.sql.as_ref();
            match error {
                SqlError::Timeout => {
                    let ms = session.map_or(0, |s| s.statement_timeout_ms());
                    self.record(Violation::StatementTimeout(ms));
                }
                SqlError::BudgetExhausted => {
                    let max = session.map_or(0, |s| s.max_statements());
                    self.record(Violation::StatementBudget(max));
                }
                SqlError::EgressDenied(why) => self.record(Violation::EgressDenied(why.clone())),
                _ => {}
            }
            tracing::debug!(
                tenant = %self.labels.tenant,
                connection = %self.labels.connection,
                plugin = %self.labels.plugin,
                %error,
                "plugin statement refused or failed"
            );
        }
    }
}

fn no_session() -> sql::SqlError {
    sql::SqlError::Denied("this call has no database connection".into())
}

fn from_wit(value: sql::SqlValue) -> Value {
    use sql::SqlValue as W;
    match value {
        W::Null => Value::Null,
        W::Boolean(b) => Value::Boolean(b),
        W::Int(i) => Value::Int(i),
        W::Float(f) => Value::Float(f),
        W::Text(s) => Value::Text(s),
        W::Bytes(b) => Value::Bytes(b),
        W::Json(s) => Value::Json(s),
        W::Timestamp(s) => Value::Timestamp(s),
        W::Date(s) => Value::Date(s),
        W::Numeric(s) => Value::Numeric(s),
        W::Uuid(s) => Value::Uuid(s),
    }
}

fn to_wit(value: Value) -> sql::SqlValue {
    use sql::SqlValue as W;
    match value {
        Value::Null => W::Null,
        Value::Boolean(b) => W::Boolean(b),
        Value::Int(i) => W::Int(i),
        Value::Float(f) => W::Float(f),
        Value::Text(s) => W::Text(s),
        Value::Bytes(b) => W::Bytes(b),
        Value::Json(s) => W::Json(s),
        Value::Timestamp(s) => W::Timestamp(s),
        Value::Date(s) => W::Date(s),
        Value::Numeric(s) => W::Numeric(s),
        Value::Uuid(s) => W::Uuid(s),
    }
}

fn rows_to_wit(rows: Rows) -> sql::Rows {
    sql::Rows {
        columns: rows
            .columns
            .into_iter()
            .map(|c| sql::Column {
                name: c.name,
                type_name: c.type_name,
            })
            .collect(),
        rows: rows
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(to_wit).collect())
            .collect(),
        truncated: rows.truncated,
    }
}

fn error_to_wit(error: SqlError) -> sql::SqlError {
    match error {
        SqlError::Denied(why) | SqlError::EgressDenied(why) => sql::SqlError::Denied(why),
        SqlError::InvalidStatement(why) => sql::SqlError::InvalidStatement(why),
        SqlError::Timeout => sql::SqlError::Timeout,
        SqlError::ConnectionFailed(why) => sql::SqlError::ConnectionFailed(why),
        SqlError::Database { code, message } => {
            sql::SqlError::Database(sql::DatabaseError { code, message })
        }
        SqlError::BudgetExhausted => sql::SqlError::BudgetExhausted,
    }
}
