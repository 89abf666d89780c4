use std::fmt;

/// A host name, or `*.suffix` for any subdomain of `suffix`, or `*` for any host.
/// Matching is on the host alone (any port), case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Any,
    Exact(String),
    /// Stored with its leading dot: `.atlassian.net`.
    Subdomains(String),
}

impl HostPattern {
    /// Parses `example.com`, `*.example.com` or `*`.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let pattern = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
        if pattern == "*" {
            return Ok(Self::Any);
        }
        if let Some(suffix) = pattern.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') {
                return Err(format!("`{pattern}` is not a valid host pattern"));
            }
            return Ok(Self::Subdomains(format!(".{suffix}")));
        }
        if pattern.is_empty() || pattern.contains(['*', '/', ':', '@']) {
            return Err(format!("`{pattern}` is not a valid host pattern"));
        }
        Ok(Self::Exact(pattern))
    }

    /// Whether `host` (as the URL spells it) matches.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self {
            Self::Any => true,
            Self::Exact(exact) => host == *exact,
            Self::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
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
    fn exact_hosts_match_exactly() {
        let pattern = HostPattern::parse("api.atlassian.com").unwrap();
        assert!(pattern.matches("api.atlassian.com"));
        assert!(!pattern.matches("x.api.atlassian.com"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in ["", "*.", "a*.b", "http://x", "x/y", "*.*.x"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
