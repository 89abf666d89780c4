//! An index of when each OAuth connection's access token expires, so the refresh sweeper reads
//! only the connections that are due, in expiry order, instead of every record. Two trees kept
//! in the same transaction as the credential: `token_expiry` (`expiry_be ‖ tenant/id` -> ())
//! and `token_expiry_of` (`tenant/id` -> `expiry_be`, to find the old entry on a rewrite).

use sled::transaction::{ConflictableTransactionResult, TransactionalTree};

use super::{BoundCredential, Sled, StoreError, StoredCredential};

/// When the credential's access token expires, if it is an OAuth token that says.
pub(super) fn expiry_of(credential: &BoundCredential) -> Option<u64> {
    match &credential.credential {
        StoredCredential::Oauth2 { expires_at, .. } => *expires_at,
        _ => None,
    }
}

fn time_key(expiry: u64, connection_key: &[u8]) -> Vec<u8> {
    let mut key = expiry.to_be_bytes().to_vec();
    key.extend_from_slice(connection_key);
    key
}

/// Inside a transaction: the connection's entry becomes `expiry` (`None` removes it).
pub(super) fn set(
    by_time: &TransactionalTree,
    by_connection: &TransactionalTree,
    connection_key: &[u8],
    expiry: Option<u64>,
) -> ConflictableTransactionResult<(), StoreError> {
    if let Some(old) = by_connection.remove(connection_key)?
        && let Ok(bytes) = <[u8; 8]>::try_from(old.as_ref())
    {
        by_time.remove(time_key(u64::from_be_bytes(bytes), connection_key))?;
    }
    if let Some(expiry) = expiry {
        by_time.insert(time_key(expiry, connection_key), &[][..])?;
        by_connection.insert(connection_key, &expiry.to_be_bytes()[..])?;
    }
    Ok(())
}

impl Sled {
    /// `(tenant, connection)` of every OAuth connection whose token expires at or before
    /// `deadline` (unix seconds), soonest first.
    pub fn tokens_due(&self, deadline: u64) -> Result<Vec<(String, String)>, StoreError> {
        let end = (deadline.saturating_add(1)).to_be_bytes();
        let mut due = Vec::new();
        for entry in self.token_expiry.range(..end.as_slice()) {
            let (key, _) = entry?;
            let text = String::from_utf8_lossy(&key[8..]).into_owned();
            if let Some((tenant, id)) = text.split_once('/') {
                due.push((tenant.to_owned(), id.to_owned()));
            }
        }
        Ok(due)
    }
}
