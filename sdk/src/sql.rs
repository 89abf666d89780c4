//! SQL through the host, for database connectors (the contract's optional `sql` import).
//!
//! The host owns the database connection: it opens it with the connection's sealed password
//! against the target the credential is bound to (config `host`, `port`, `database`, `tls`),
//! runs each statement in a transaction of its own (read-only unless config `allow_writes` is
//! `true`) under a statement timeout and row and byte caps, and hands back typed values. A
//! connector never sees the password or a socket.
//!
//! Values always travel as parameters (`$1`, `$2`, ...): never splice them into the text.
//! Identifiers cannot be parameters; quote them with [`quote_identifier`].
//!
//! A connector that uses this module imports `sql`, and only such connectors do: the host links
//! the import for every plugin, but a plugin that never calls these functions does not import
//! it.

use crate::ConnectorError;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.3.0",
        inline: "package connector:sdk-sql; world sql-import { import connector:plugin/sql@0.3.0; }",
        world: "connector:sdk-sql/sql-import",
        generate_all,
    });
}

pub use bindings::connector::plugin::sql::{
    Column, DatabaseError, Rows, SqlError, SqlValue as Value,
};

/// Runs a statement that returns rows.
pub fn query(statement: &str, params: &[Value]) -> Result<Rows, SqlError> {
    bindings::connector::plugin::sql::query(statement, params)
}

/// Runs a statement that returns no rows (INSERT, UPDATE, DELETE); the rows affected.
/// Refused unless the connection allows writes.
pub fn execute(statement: &str, params: &[Value]) -> Result<u64, SqlError> {
    bindings::connector::plugin::sql::execute(statement, params)
}

/// `name` as a quoted SQL identifier (`"my ""odd"" table"`), safe to put into statement text.
/// Refuses what PostgreSQL cannot name: empty, a NUL byte, or longer than 63 bytes.
pub fn quote_identifier(name: &str) -> Result<String, ConnectorError> {
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(ConnectorError::invalid_input(format!(
            "`{}` is not a database identifier",
            name.escape_default()
        )));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

impl Rows {
    /// Index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

impl Value {
    /// The value as text, for the cases that have one (numbers and booleans written out).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Self::Null | Self::Bytes(_) => None,
            Self::Boolean(b) => Some(b.to_string()),
            Self::Int(i) => Some(i.to_string()),
            Self::Float(f) => Some(f.to_string()),
            Self::Text(s)
            | Self::Json(s)
            | Self::Timestamp(s)
            | Self::Date(s)
            | Self::Numeric(s)
            | Self::Uuid(s) => Some(s.clone()),
        }
    }

    /// The value as JSON: numbers, booleans and JSON as themselves, bytes as an array, the rest
    /// as strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Boolean(b) => (*b).into(),
            Self::Int(i) => (*i).into(),
            Self::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| f.to_string().into(), serde_json::Value::Number),
            Self::Json(text) => serde_json::from_str(text).unwrap_or_else(|_| text.clone().into()),
            Self::Bytes(bytes) => bytes.iter().map(|b| u64::from(*b)).collect(),
            Self::Text(s)
            | Self::Timestamp(s)
            | Self::Date(s)
            | Self::Numeric(s)
            | Self::Uuid(s) => s.clone().into(),
        }
    }
}

impl From<SqlError> for ConnectorError {
    /// What a failed statement means for the call: a refused login is `unauthorized` (the
    /// client must reconnect), a missing relation `not-found`, a refused write `forbidden`,
    /// bad data or constraint violations `invalid-config` (the client's input), timeouts and
    /// lost connections `transient`.
    fn from(error: SqlError) -> Self {
        match error {
            SqlError::Denied(why) => ConnectorError::Forbidden(why),
            SqlError::InvalidStatement(why) => ConnectorError::permanent(why),
            SqlError::Timeout => {
                ConnectorError::transient("the statement ran past the host's statement timeout")
            }
            SqlError::ConnectionFailed(why) => ConnectorError::transient(why),
            SqlError::BudgetExhausted => {
                ConnectorError::permanent("this call ran as many statements as the host allows")
            }
            SqlError::Database(DatabaseError { code, message }) => match code.as_str() {
                // invalid_authorization_specification, invalid_password
                "28000" | "28P01" => ConnectorError::Unauthorized(message),
                // insufficient_privilege, read_only_sql_transaction
                "42501" | "25006" => ConnectorError::Forbidden(message),
                // undefined_table, undefined_column, invalid_schema_name, invalid_catalog_name
                "42P01" | "42703" | "3F000" | "3D000" => ConnectorError::not_found(message),
                // too_many_connections, cannot_connect_now, admin_shutdown
                "53300" | "57P03" | "57P01" => ConnectorError::transient(message),
                code if code.starts_with("22") || code.starts_with("23") => {
                    ConnectorError::invalid_input(message)
                }
                _ => ConnectorError::permanent(format!("database error {code}: {message}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_bad_ones_refused() {
        assert_eq!(quote_identifier("issues").unwrap(), "\"issues\"");
        assert_eq!(
            quote_identifier("a\"; DROP TABLE x; --").unwrap(),
            "\"a\"\"; DROP TABLE x; --\""
        );
        assert!(quote_identifier("").is_err());
        assert!(quote_identifier("a\0b").is_err());
        assert!(quote_identifier(&"x".repeat(64)).is_err());
    }
}
