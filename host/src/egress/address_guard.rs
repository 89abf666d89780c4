use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
            return Err(format!("{addr} is a cloud metadata address"));
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
}

/// Unwraps IPv4 addresses carried inside IPv6 (mapped, NAT64, 6to4), which would otherwise
/// smuggle a private IPv4 target past the checks.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
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

fn is_metadata(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            v4 == Ipv4Addr::new(169, 254, 169, 254) || v4 == Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    }
}

fn is_never_routable(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
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
}
