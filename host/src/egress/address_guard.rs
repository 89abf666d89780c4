use std::net::{IpAddr, Ipv4Addr};

/// Decides which resolved addresses plugins may connect to.
///
/// Cloud metadata endpoints are refused even when private egress is allowed: nothing a
/// connector does needs them, and they hand out the machine's own credentials.
#[derive(Debug, Clone, Copy)]
pub struct AddressGuard {
    /// Allow private, loopback and link-local ranges (local fakes in tests). Default: false.
    pub allow_private: bool,
}

impl AddressGuard {
    /// `Err` names why `addr` is refused.
    pub fn check(&self, addr: IpAddr) -> Result<(), String> {
        let addr = canonical(addr);
        if is_metadata(addr) {
            return Err(format!(
                "{addr} is a cloud metadata or platform address (link-local, AWS, Azure)"
            ));
        }
        if is_never_routable(addr) {
            return Err(format!("{addr} is not a routable unicast address"));
        }
        if !self.allow_private && is_private(addr) {
            return Err(format!(
                "{addr} is a private, loopback or link-local address"
            ));
        }
        Ok(())
    }

    /// Resolves the host of `url` (within `timeout`) and checks every address it names. A
    /// client's guarded resolver checks the names it resolves, but no resolver sees an IP
    /// literal: callers that fetch an untrusted URL check it here first.
    pub async fn check_url_host(
        &self,
        url: &url::Url,
        timeout: std::time::Duration,
    ) -> Result<(), HostRefusal> {
        let host = url
            .host_str()
            .ok_or(HostRefusal::NoHost)?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| HostRefusal::Timeout)?
            .map_err(|e| HostRefusal::Unresolvable(e.to_string()))?;
        let mut any = false;
        for address in addresses {
            any = true;
            self.check(address.ip()).map_err(HostRefusal::Denied)?;
        }
        if any {
            Ok(())
        } else {
            Err(HostRefusal::NoAddresses)
        }
    }
}

/// Why [`AddressGuard::check_url_host`] refused a URL's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRefusal {
    /// The URL has no host.
    NoHost,
    /// It did not resolve in time.
    Timeout,
    /// It does not resolve (the resolver's reason).
    Unresolvable(String),
    /// It resolves to nothing.
    NoAddresses,
    /// An address it resolves to is not allowed (the guard's reason, naming the address).
    Denied(String),
}

/// Unwraps IPv4 addresses carried inside IPv6 (mapped, compatible, translated, NAT64, 6to4),
/// which would otherwise smuggle a private IPv4 target past the checks.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            // ::a.b.c.d (IPv4-compatible, deprecated but still routed by some stacks); `::` and
            // `::1` stay IPv6.
            if s[..6] == [0, 0, 0, 0, 0, 0] && (s[6] != 0 || s[7] > 1) {
                return IpAddr::V4(embedded_v4(s[6], s[7]));
            }
            // ::ffff:0:a.b.c.d (IPv4-translated, SIIT).
            if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
                return IpAddr::V4(embedded_v4(s[6], s[7]));
            }
            // 64:ff9b::/96 (NAT64) embeds the IPv4 address in the last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return IpAddr::V4(embedded_v4(s[6], s[7]));
            }
            // 2002::/16 (6to4) embeds it in bits 16..48.
            if s[0] == 0x2002 {
                return IpAddr::V4(embedded_v4(s[1], s[2]));
            }
            addr
        }
    }
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// Always refused, whatever `allow_private` says: all of link-local 169.254.0.0/16 (every cloud's
/// metadata service lives there), AWS's IPv6 metadata range fd00:ec2::/32, Azure's wire server
/// 168.63.129.16, and Alibaba's 100.100.100.200.
fn is_metadata(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            (a == 169 && b == 254)
                || v4 == Ipv4Addr::new(168, 63, 129, 16)
                || v4 == Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            s[0] == 0xfd00 && s[1] == 0x0ec2
        }
    }
}

fn is_never_routable(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24 IETF protocol assignments
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // 64:ff9b:1::/48 local NAT64
                || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 deprecated site-local
        }
    }
}

fn is_private(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10 carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // 198.18.0.0/15 benchmarking
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || (first & 0xfe00) == 0xfc00 // fc00::/7 unique local
                || (first & 0xffc0) == 0xfe80 // fe80::/10 link-local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AddressGuard;

    const STRICT: AddressGuard = AddressGuard {
        allow_private: false,
    };
    const LOCAL: AddressGuard = AddressGuard {
        allow_private: true,
    };

    fn refused(guard: AddressGuard, addr: &str) -> bool {
        guard.check(addr.parse().unwrap()).is_err()
    }

    #[test]
    fn private_ranges_are_refused_by_default() {
        for addr in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
        ] {
            assert!(refused(STRICT, addr), "{addr} should be refused");
        }
        assert!(!refused(STRICT, "93.184.216.34"));
        assert!(!refused(STRICT, "2606:2800:220:1::1"));
    }

    #[test]
    fn private_egress_opens_private_ranges_but_never_metadata() {
        assert!(!refused(LOCAL, "127.0.0.1"));
        assert!(!refused(LOCAL, "10.0.0.1"));
        assert!(refused(LOCAL, "169.254.169.254"));
        assert!(refused(LOCAL, "::ffff:169.254.169.254"));
        assert!(refused(LOCAL, "fd00:ec2::254"));
        assert!(refused(LOCAL, "0.0.0.0"));
    }

    #[test]
    fn platform_ranges_and_embedded_forms_are_refused_even_with_private_egress() {
        for addr in [
            "169.254.0.1",
            "169.254.170.2",
            "fd00:ec2::1",
            "fd00:ec2:ffff::1",
            "168.63.129.16",
            "::169.254.169.254",
            "::ffff:0:169.254.169.254",
            "::ffff:0:a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "fec0::1",
            "192.0.0.8",
        ] {
            assert!(refused(LOCAL, addr), "{addr} should always be refused");
        }
        assert!(refused(STRICT, "::127.0.0.1"), "IPv4-compatible loopback");
        assert!(
            refused(STRICT, "::ffff:0:10.0.0.1"),
            "IPv4-translated private"
        );
        assert!(
            !refused(LOCAL, "::1"),
            "IPv6 loopback is private, not metadata"
        );
    }
}
