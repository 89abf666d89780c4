//! The `sql` capability: statements a database connector runs through a connection the host
//! owns. The plugin never holds the password or a socket. Each connection gets its own small
//! pool, opened with its sealed credential against the target its credential was bound to
//! (checked against the egress policy and, after DNS, the address guard), and closed when idle
//! or when the connection is deleted. Every statement is first checked by PostgreSQL's own
//! parser against what the connection may do (`boundary`), then runs in a transaction of its
//! own, read-only unless the connection enables writes, under a statement timeout and row and
//! byte caps, with values always bound as parameters; the session is reset when it ends. A
//! login with server-level privileges is refused unless the operator allows it.

mod boundary;
mod limits;
mod metered;
mod pools;
mod session;
mod statement;
mod target;
mod values;

pub use limits::SqlLimits;
pub use pools::SqlPools;
pub use session::{SessionGrant, SqlSession};
pub use statement::{Column, Rows};
pub use target::{ALLOW_WRITES_KEY, SqlTarget, TARGET_KEYS, TlsMode};
pub use values::Value;

/// Why a statement did not run (the contract's `sql-error`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SqlError {
    /// The connection does not allow this (writes), or has no database.
    #[error("denied: {0}")]
    Denied(String),
    /// The egress policy or the address guard refused the database host.
    #[error("egress denied: {0}")]
    EgressDenied(String),
    /// The statement or its parameters are malformed.
    #[error("invalid statement: {0}")]
    InvalidStatement(String),
    /// Past the statement timeout or the call's deadline.
    #[error("the statement ran past its timeout")]
    Timeout,
    /// Connecting to the database failed.
    #[error("connecting to the database failed: {0}")]
    ConnectionFailed(String),
    /// The database refused or failed the statement.
    #[error("database error {code}: {message}")]
    Database {
        /// The SQLSTATE code.
        code: String,
        /// The database's message.
        message: String,
    },
    /// The call ran as many statements as the host allows.
    #[error("this call ran as many statements as the host allows")]
    BudgetExhausted,
}

impl SqlError {
    /// A short, bounded name of the failure, for span attributes: the SQLSTATE for the
    /// database's own errors (five characters), never a message.
    pub fn code(&self) -> String {
        match self {
            Self::Denied(_) => "denied".into(),
            Self::EgressDenied(_) => "egress_denied".into(),
            Self::InvalidStatement(_) => "invalid_statement".into(),
            Self::Timeout => "timeout".into(),
            Self::ConnectionFailed(_) => "connection_failed".into(),
            Self::Database { code, .. } => code.chars().take(5).collect(),
            Self::BudgetExhausted => "statement_budget".into(),
        }
    }

    /// A driver error, by what the database or the socket said.
    fn from_driver(error: &tokio_postgres::Error) -> Self {
        if let Some(db) = error.as_db_error() {
            // 57014: query_canceled, which is how statement_timeout ends a statement.
            if db.code().code() == "57014" {
                return Self::Timeout;
            }
            return Self::Database {
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
            };
        }
        if error.is_closed() {
            return Self::ConnectionFailed("the database closed the connection".into());
        }
        // A socket error is a failed connection; anything else the driver raises itself (a
        // parameter or column it cannot convert) is the statement's fault. Neither message holds
        // the password (the driver never prints it).
        let text = error.to_string();
        match std::error::Error::source(error) {
            Some(source) if source.downcast_ref::<std::io::Error>().is_some() => {
                Self::ConnectionFailed(format!("{text}: {source}"))
            }
            Some(source) => Self::InvalidStatement(format!("{text}: {source}")),
            None => Self::ConnectionFailed(text),
        }
    }
}
