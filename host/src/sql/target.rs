//! Where a connection's database is: host, port, database and TLS mode, read from the
//! connection's config when its credential is stored and bound to it as an origin string
//! (`postgres://db.example.com:5432/app?tls=verify-full`). Calls connect to the bound target,
//! never to one read from the live config, so a config change cannot move the password.

use std::fmt;

/// Config keys the host reads for a database connection.
pub const HOST_KEY: &str = "host";
pub const PORT_KEY: &str = "port";
pub const DATABASE_KEY: &str = "database";
pub const TLS_KEY: &str = "tls";
/// `true` lets the connection's statements write (`execute`, read-write transactions).
pub const ALLOW_WRITES_KEY: &str = "allow_writes";

/// Config keys that say where the password goes: changing one needs the credential again.
pub const TARGET_KEYS: &[&str] = &[HOST_KEY, PORT_KEY, DATABASE_KEY, TLS_KEY];

/// PostgreSQL's own default port.
const DEFAULT_PORT: u16 = 5432;
const SCHEME: &str = "postgres";

/// How the host talks to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS with the certificate checked against the platform's roots and the host name
    /// (libpq's `verify-full`). The default.
    VerifyFull,
    /// No TLS: the password crosses the network in PostgreSQL's SCRAM exchange, the data in
    /// clear. Only where the operator allows private egress (local and test databases).
    Disable,
}

impl TlsMode {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "verify-full" => Ok(Self::VerifyFull),
            "disable" => Ok(Self::Disable),
            other => Err(format!(
                "`{other}` is not a TLS mode; use `verify-full` (the default) or `disable`"
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyFull => "verify-full",
            Self::Disable => "disable",
        }
    }
}

/// A database a connection's credential is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTarget {
    /// The database host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The database's name.
    pub database: String,
    /// How TLS is used.
    pub tls: TlsMode,
}

impl SqlTarget {
    /// Reads the target from config pairs (`host`, `port`, `database`, `tls`).
    pub fn from_config<'a>(
        mut lookup: impl FnMut(&str) -> Option<&'a str>,
    ) -> Result<Self, String> {
        let host = lookup(HOST_KEY)
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or("config `host` (the database server's name or address) is required")?;
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
        {
            return Err(format!(
                "config `host`: `{host}` is not a host name or address"
            ));
        }
        let port = match lookup(PORT_KEY) {
            None => DEFAULT_PORT,
            Some(text) => text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("config `port`: `{text}` is not a port"))?,
        };
        let database = lookup(DATABASE_KEY)
            .filter(|d| !d.is_empty())
            .ok_or("config `database` is required")?;
        if database.len() > 63 || database.contains(['\0', '/', '?', '#']) {
            return Err(format!(
                "config `database`: `{database}` is not a database name"
            ));
        }
        let tls = match lookup(TLS_KEY) {
            None => TlsMode::VerifyFull,
            Some(text) => TlsMode::parse(text).map_err(|why| format!("config `tls`: {why}"))?,
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            database: database.to_owned(),
            tls,
        })
    }

    /// The target as the origin string its credential is bound to.
    pub fn to_origin(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let database: String =
            url::form_urlencoded::byte_serialize(self.database.as_bytes()).collect();
        format!(
            "{SCHEME}://{host}:{}/{database}?{TLS_KEY}={}",
            self.port,
            self.tls.as_str()
        )
    }

    /// The target a stored origin string names; `None` for anything else (an `https` origin).
    pub fn from_origin(origin: &str) -> Option<Self> {
        let url = url::Url::parse(origin).ok()?;
        if url.scheme() != SCHEME {
            return None;
        }
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let database = url.path_segments()?.next()?;
        let database = percent_decoded(database)?;
        let tls = url
            .query_pairs()
            .find(|(key, _)| key == TLS_KEY)
            .and_then(|(_, value)| TlsMode::parse(&value).ok())?;
        Some(Self {
            host,
            port: url.port().unwrap_or(DEFAULT_PORT),
            database,
            tls,
        })
    }
}

fn percent_decoded(text: &str) -> Option<String> {
    let bytes: Vec<u8> = url::form_urlencoded::parse(format!("d={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

impl fmt::Display for SqlTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.host, self.port, self.database)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(pairs: &[(&str, &str)]) -> Result<SqlTarget, String> {
        SqlTarget::from_config(|key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
    }

    #[test]
    fn a_target_round_trips_through_its_origin() {
        let t = target(&[("host", "db.example.com"), ("database", "app db")]).unwrap();
        assert_eq!(t.port, 5432);
        assert_eq!(t.tls, TlsMode::VerifyFull);
        assert_eq!(SqlTarget::from_origin(&t.to_origin()), Some(t));
        let v6 = target(&[
            ("host", "::1"),
            ("port", "6543"),
            ("database", "x"),
            ("tls", "disable"),
        ])
        .unwrap();
        assert_eq!(SqlTarget::from_origin(&v6.to_origin()), Some(v6));
        assert_eq!(SqlTarget::from_origin("https://db.example.com"), None);
    }

    #[test]
    fn malformed_targets_are_refused() {
        assert!(target(&[("database", "x")]).is_err());
        assert!(target(&[("host", "a b"), ("database", "x")]).is_err());
        assert!(target(&[("host", "db/x"), ("database", "x")]).is_err());
        assert!(target(&[("host", "db"), ("database", "x"), ("port", "0")]).is_err());
        assert!(target(&[("host", "db"), ("database", "x"), ("tls", "prefer")]).is_err());
        assert!(target(&[("host", "db")]).is_err());
    }
}
