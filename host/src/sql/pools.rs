//! One small pool of database connections per tenant connection, opened with its credential
//! against its bound target. A pool is replaced when the credential or target changes, closed
//! when unused for `pool_idle_timeout`, and closed at once when its connection is deleted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use deadpool::managed::{Metrics, RecycleError, RecycleResult};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::metered::{Meter, MeteredStream};
use super::{SqlError, SqlLimits, SqlTarget, TlsMode};
use crate::egress::AddressGuard;

/// One connection's pool of database sessions.
pub type Pool = deadpool::managed::Pool<SessionManager>;
/// A session taken from a pool; back to the pool when dropped.
pub type PooledSession = deadpool::managed::Object<SessionManager>;

/// A database session: the driver's client, and the meter its socket is read under.
pub struct Session {
    pub client: tokio_postgres::Client,
    pub meter: Arc<Meter>,
}

/// Opens sessions to one target: TCP to the address the guard checked, then TLS (or not),
/// then the login, all over a metered socket.
pub struct SessionManager {
    config: tokio_postgres::Config,
    address: IpAddr,
    port: u16,
    /// The name the certificate must carry.
    host: String,
    /// `None` for TLS `disable`.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    connect_timeout: Duration,
}

impl deadpool::managed::Manager for SessionManager {
    type Type = Session;
    type Error = SqlError;

    async fn create(&self) -> Result<Session, SqlError> {
        let tcp = tokio::time::timeout(
            self.connect_timeout,
            tokio::net::TcpStream::connect((self.address, self.port)),
        )
        .await
        .map_err(|_| {
            SqlError::ConnectionFailed(
                "the database did not complete the connection in time".into(),
            )
        })?
        .map_err(|error| SqlError::ConnectionFailed(format!("connecting: {error}")))?;
        let _ = tcp.set_nodelay(true);
        let meter = Arc::new(Meter::default());
        let stream = MeteredStream::new(tcp, meter.clone());
        let driver = |error: tokio_postgres::Error| SqlError::from_driver(&error);
        let client = match &self.tls {
            None => {
                let (client, connection) = self
                    .config
                    .connect_raw(stream, tokio_postgres::NoTls)
                    .await
                    .map_err(driver)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                client
            }
            Some(make) => {
                let connect = tokio_postgres::tls::MakeTlsConnect::<
                    MeteredStream<tokio::net::TcpStream>,
                >::make_tls_connect(&mut make.clone(), &self.host)
                .map_err(|error| SqlError::ConnectionFailed(format!("TLS: {error}")))?;
                let (client, connection) = self
                    .config
                    .connect_raw(stream, connect)
                    .await
                    .map_err(driver)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                client
            }
        };
        Ok(Session { client, meter })
    }

    async fn recycle(&self, session: &mut Session, _: &Metrics) -> RecycleResult<SqlError> {
        if session.client.is_closed() || session.meter.tripped() {
            return Err(RecycleError::message("the database session is closed"));
        }
        Ok(())
    }
}

/// How often idle pools are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// Every connection's pool. Cheap to clone.
#[derive(Clone)]
pub struct SqlPools {
    inner: Arc<Inner>,
}

struct Inner {
    limits: SqlLimits,
    guard: AddressGuard,
    pools: Mutex<HashMap<(String, String), Entry>>,
    sweeper_started: std::sync::Once,
}

struct Entry {
    /// Which target and credential the pool was opened with.
    fingerprint: [u8; 32],
    pool: Pool,
    last_used: Instant,
}

impl SqlPools {
    /// Pools under `limits`, connecting only where `guard` allows.
    pub fn new(limits: SqlLimits, guard: AddressGuard) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                guard,
                pools: Mutex::new(HashMap::new()),
                sweeper_started: std::sync::Once::new(),
            }),
        }
    }

    /// The limits every pool and statement runs under.
    pub fn limits(&self) -> &SqlLimits {
        &self.inner.limits
    }

    /// Whether the operator allows private addresses (and so TLS `disable`).
    pub fn allows_private(&self) -> bool {
        self.inner.guard.allow_private
    }

    /// The pool of `tenant`'s `connection`, opened against `target` with `username` and
    /// `password` unless it is open already with those.
    pub async fn pool(
        &self,
        tenant: &str,
        connection: &str,
        target: &SqlTarget,
        username: &str,
        password: &SecretString,
    ) -> Result<Pool, SqlError> {
        let fingerprint = fingerprint(target, username, password);
        let key = (tenant.to_owned(), connection.to_owned());
        if let Some(entry) = self.lock().get_mut(&key)
            && entry.fingerprint == fingerprint
        {
            entry.last_used = Instant::now();
            return Ok(entry.pool.clone());
        }
        let pool = self.open(target, username, password).await?;
        if !self.inner.limits.allow_privileged_roles
            && let Err(error) = self.check_role(&pool).await
        {
            pool.close();
            return Err(error);
        }
        self.start_sweeper();
        let replaced = self.lock().insert(
            key,
            Entry {
                fingerprint,
                pool: pool.clone(),
                last_used: Instant::now(),
            },
        );
        if let Some(old) = replaced {
            old.pool.close();
        }
        Ok(pool)
    }

    /// Closes the pool of a connection (deleted, or its credential replaced).
    pub fn close(&self, tenant: &str, connection: &str) {
        if let Some(entry) = self
            .lock()
            .remove(&(tenant.to_owned(), connection.to_owned()))
        {
            entry.pool.close();
        }
    }

    /// How many pools are open, for tests and metrics.
    pub fn open_pools(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Entry>> {
        // A panic while holding the map leaves it consistent (every change is one call).
        self.inner
            .pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn open(
        &self,
        target: &SqlTarget,
        username: &str,
        password: &SecretString,
    ) -> Result<Pool, SqlError> {
        let limits = &self.inner.limits;
        if target.tls == TlsMode::Disable && !self.inner.guard.allow_private {
            return Err(SqlError::EgressDenied(
                "TLS `disable` is allowed only where the operator allows private egress; use \
                 `verify-full`"
                    .into(),
            ));
        }
        let address = self.resolve(target).await?;
        let mut config = tokio_postgres::Config::new();
        // The socket is opened to the address the guard checked, so a second DNS answer cannot
        // move it; the name stays for TLS (SNI and the certificate check).
        config
            .host(&target.host)
            .port(target.port)
            .dbname(&target.database)
            .user(username)
            .password(password.expose_secret())
            .application_name("connector-host");
        let tls = match target.tls {
            TlsMode::Disable => {
                config.ssl_mode(tokio_postgres::config::SslMode::Disable);
                None
            }
            TlsMode::VerifyFull => {
                config.ssl_mode(tokio_postgres::config::SslMode::Require);
                Some(tls_connector()?)
            }
        };
        // Every statement resets its session as it ends (`DISCARD ALL`, see `statement.rs`),
        // and a session that could not be reset, or whose meter tripped, never comes back to
        // the pool; a checkout only checks the session is open.
        let manager = SessionManager {
            config,
            address,
            port: target.port,
            host: target.host.clone(),
            tls,
            connect_timeout: limits.connect_timeout,
        };
        Pool::builder(manager)
            .max_size(limits.max_pool_size)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(limits.statement_timeout))
            .create_timeout(Some(limits.connect_timeout))
            .recycle_timeout(Some(limits.connect_timeout))
            .build()
            .map_err(|error| SqlError::ConnectionFailed(format!("building the pool: {error}")))
    }

    /// Refuses a login that could reach past any statement check: a superuser, or a member of
    /// the roles that run programs or read and write files on the database server.
    async fn check_role(&self, pool: &Pool) -> Result<(), SqlError> {
        let client = tokio::time::timeout(self.inner.limits.connect_timeout, pool.get())
            .await
            .map_err(|_| {
                SqlError::ConnectionFailed(
                    "the database did not complete the connection in time".into(),
                )
            })?
            .map_err(pool_error)?;
        let row = client
            .client
            .query_one(
                "SELECT r.rolsuper, \
                        pg_catalog.pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER'), \
                        pg_catalog.pg_has_role(current_user, 'pg_write_server_files', 'MEMBER'), \
                        pg_catalog.pg_has_role(current_user, 'pg_read_server_files', 'MEMBER'), \
                        current_user::text \
                 FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
                &[],
            )
            .await
            .map_err(|error| SqlError::from_driver(&error))?;
        let flag = |index: usize| row.try_get::<_, bool>(index).unwrap_or(true);
        let user: String = row.try_get(4).unwrap_or_default();
        let why = if flag(0) {
            Some("a superuser".to_owned())
        } else {
            [
                (1, "pg_execute_server_program"),
                (2, "pg_write_server_files"),
                (3, "pg_read_server_files"),
            ]
            .into_iter()
            .find(|(index, _)| flag(*index))
            .map(|(_, role)| format!("a member of `{role}`"))
        };
        match why {
            Some(why) => Err(SqlError::Denied(format!(
                "the database login `{user}` is {why}, which can run programs or reach files on \
                 the database server; connect with an unprivileged role (the operator can allow \
                 such logins with `sql.allow_privileged_roles`)"
            ))),
            None => Ok(()),
        }
    }

    /// The first address of the target that the address guard allows.
    async fn resolve(&self, target: &SqlTarget) -> Result<IpAddr, SqlError> {
        let guard = self.inner.guard;
        let addresses: Vec<IpAddr> = match target.host.parse::<IpAddr>() {
            Ok(literal) => vec![literal],
            Err(_) => tokio::time::timeout(
                self.inner.limits.connect_timeout,
                tokio::net::lookup_host((target.host.as_str(), target.port)),
            )
            .await
            .map_err(|_| {
                SqlError::ConnectionFailed(format!("resolving `{}` timed out", target.host))
            })?
            .map_err(|error| {
                SqlError::ConnectionFailed(format!("resolving `{}`: {error}", target.host))
            })?
            .map(|address: SocketAddr| address.ip())
            .collect(),
        };
        let mut refusal = None;
        for address in addresses {
            match guard.check(address) {
                Ok(()) => return Ok(address),
                Err(why) => refusal = Some(why),
            }
        }
        Err(SqlError::EgressDenied(match refusal {
            Some(why) => format!("`{}` resolves to {why}", target.host),
            None => format!("`{}` has no address", target.host),
        }))
    }

    /// Closes pools unused for longer than the idle timeout, from a task that ends when the
    /// pools are dropped.
    fn start_sweeper(&self) {
        self.inner.sweeper_started.call_once(|| {
            let weak: Weak<Inner> = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(SWEEP_INTERVAL).await;
                    let Some(inner) = weak.upgrade() else { return };
                    SqlPools { inner }.sweep();
                }
            });
        });
    }

    /// Closes every pool idle for longer than the idle timeout.
    pub fn sweep(&self) {
        let idle = self.inner.limits.pool_idle_timeout;
        self.lock().retain(|_, entry| {
            let keep = entry.last_used.elapsed() < idle;
            if !keep {
                entry.pool.close();
            }
            keep
        });
    }
}

fn fingerprint(target: &SqlTarget, username: &str, password: &SecretString) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [
        target.to_origin().as_bytes(),
        username.as_bytes(),
        password.expose_secret().as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// TLS that checks the server's certificate against the platform's roots and its name, as
/// the HTTP egress client does.
fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, SqlError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let config = rustls::ClientConfig::builder()
        .with_platform_verifier()
        .map_err(|error| SqlError::ConnectionFailed(format!("TLS trust roots: {error}")))?
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A pool's failure to hand out a session, as the `sql` capability reports it.
pub(super) fn pool_error(error: deadpool::managed::PoolError<SqlError>) -> SqlError {
    use deadpool::managed::{PoolError, TimeoutType};
    match error {
        PoolError::Backend(error) => error,
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
