use std::fmt;

/// A host name, or `*.suffix` for any subdomain of `suffix`, or `*` for any host.
/// Matching is on the host alone (any port), case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`: any host.
    Any,
    /// Exactly this host.
    Exact(String),
    /// Stored with its leading dot: `.atlassian.net`.
    Subdomains(String),
}

impl HostPattern {
    /// Parses `example.com`, `*.example.com` or `*`.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let raw = pattern.trim().to_ascii_lowercase();
        let invalid = || format!("`{raw}` is not a valid host pattern");
        if raw == "*" {
            return Ok(Self::Any);
        }
        // A trailing dot (fully qualified name) is dropped only after the wildcard is
        // recognised, so `*.` cannot collapse into `*`.
        if let Some(suffix) = raw.strip_prefix("*.") {
            let suffix = suffix.trim_end_matches('.');
            if suffix.is_empty() || suffix.contains(['*', '/', ':', '@']) {
                return Err(invalid());
            }
            return Ok(Self::Subdomains(format!(".{suffix}")));
        }
        let exact = raw.trim_end_matches('.');
        if exact.is_empty() || exact.contains(['*', '/', ':', '@']) {
            return Err(invalid());
        }
        Ok(Self::Exact(exact.to_owned()))
    }

    /// Whether `host` (as the URL spells it) matches.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self {
            Self::Any => true,
            Self::Exact(exact) => host == *exact,
            Self::Subdomains(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }
}

impl HostPattern {
    /// Whether every host `other` matches is also matched by `self`.
    pub fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (Self::Any, _) => true,
            (_, Self::Any) => false,
            (_, Self::Exact(host)) => self.matches(host),
            (Self::Exact(_), Self::Subdomains(_)) => false,
            (Self::Subdomains(mine), Self::Subdomains(theirs)) => {
                theirs == mine || theirs.ends_with(mine.as_str())
            }
        }
    }

    /// `*` or a wildcard over a bare top-level domain (`*.com`): too wide to send a secret to.
    pub fn is_too_wide(&self) -> bool {
        match self {
            Self::Any => true,
            Self::Subdomains(suffix) => !suffix[1..].contains('.'),
            Self::Exact(_) => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Exact(host) => f.write_str(host),
            Self::Subdomains(suffix) => write!(f, "*{suffix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HostPattern;

    #[test]
    fn wildcards_match_subdomains_only() {
        let pattern = HostPattern::parse("*.atlassian.net").unwrap();
        assert!(pattern.matches("acme.atlassian.net"));
        assert!(pattern.matches("ACME.Atlassian.NET."));
        assert!(!pattern.matches("atlassian.net"));
        assert!(!pattern.matches("evilatlassian.net"));
        assert!(!pattern.matches("atlassian.net.evil.com"));
    }

    #[test]
    fn coverage_and_width() {
        let p = |s: &str| HostPattern::parse(s).unwrap();
        assert!(p("*.atlassian.net").covers(&p("acme.atlassian.net")));
        assert!(p("*.atlassian.net").covers(&p("*.eu.atlassian.net")));
        assert!(!p("*.atlassian.net").covers(&p("atlassian.net")));
        assert!(!p("api.atlassian.com").covers(&p("*.atlassian.com")));
        assert!(p("*").covers(&p("*")));
        assert!(!p("*.com").covers(&p("*")));
        assert!(p("*").is_too_wide() && p("*.com").is_too_wide());
        assert!(!p("*.atlassian.net").is_too_wide() && !p("api.github.com").is_too_wide());
    }

    #[test]
    fn exact_hosts_match_exactly() {
        let pattern = HostPattern::parse("api.atlassian.com").unwrap();
        assert!(pattern.matches("api.atlassian.com"));
        assert!(!pattern.matches("x.api.atlassian.com"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "", "*.", "*..", ".", "a*.b", "http://x", "x/y", "*.*.x", "*.x/y",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
