use super::SealError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record exists already.
    #[error("already exists")]
    Conflict,
    /// No such record.
    #[error("not found")]
    NotFound,
    /// The lease a write was made under passed to another tenure: nothing was written.
    #[error("the lease passed to another runner; nothing was written")]
    LeaseLost,
    /// Sealing or opening a secret failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A stored record cannot be read.
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("storage failed: {0}")]
    Io(String),
    /// The database is out of reach (gone, restarting, every pooled connection busy past the
    /// wait): worth trying again shortly.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        Self::Io(error.to_string())
    }
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(error: sled::transaction::TransactionError<StoreError>) -> Self {
        match error {
            sled::transaction::TransactionError::Abort(inner) => inner,
            sled::transaction::TransactionError::Storage(e) => Self::Io(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}
