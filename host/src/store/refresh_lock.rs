//! The lock one connection's token refresh holds across hosts. With PostgreSQL it is a
//! session advisory lock on a connection of its own, taken out of the pool: dropping the guard
//! closes that connection, and PostgreSQL releases the lock with the session, whether the
//! refresh finished, failed or its task was cancelled. The embedded store has one process,
//! whose refresher's own lock is enough: its guard holds nothing.

/// Held while one host refreshes one connection's token; released when dropped.
pub struct RefreshLock(pub(super) Option<deadpool_postgres::ClientWrapper>);

impl std::fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RefreshLock(postgres)"
        } else {
            "RefreshLock(process)"
        })
    }
}

/// The advisory lock's key for a connection: the first 8 bytes of SHA-256 of `tenant/id`.
pub(super) fn lock_key(tenant: &str, connection: &str) -> i64 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{tenant}/{connection}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
