//! IP addresses and networks in CIDR notation (emqttd's `esockd_cidr`): `127.0.0.1`,
//! `192.168.0.0/24`, `fd00::/8`. Pure; used by acl.conf's `ipaddr` rules and by plugins.

use std::fmt;
use std::net::IpAddr;

/// A network: an address with its prefix length; a bare address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `address` or `address/prefix`. The host bits of `address` are ignored
    /// (`192.168.0.1/24` is `192.168.0.0/24`).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network (a.b.c.d[/n])"))?;
        let address = address.to_canonical();
        let bits = max_prefix(address);
        let prefix = match prefix {
            None => bits,
            Some(prefix) => match prefix.trim().parse::<u8>() {
                Ok(n) if n <= bits => n,
                _ => return Err(format!("{text:?}: the prefix length must be 0..={bits}")),
            },
        };
        Ok(Cidr {
            network: mask(address, prefix),
            prefix,
        })
    }

    /// Is `ip` in this network? IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// `ip` with all but its first `prefix` bits cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_and_single_addresses() {
        let net = Cidr::parse("192.168.0.1/24").unwrap();
        assert_eq!(net.to_string(), "192.168.0.0/24");
        assert!(net.contains(ip("192.168.0.200")));
        assert!(!net.contains(ip("192.168.1.1")));
        assert!(net.contains(ip("::ffff:192.168.0.7")));
        assert!(!net.contains(ip("fd00::1")));

        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));

        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("::1")));

        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
    }

    #[test]
    fn malformed_networks_are_refused() {
        for bad in [
            "",
            "localhost",
            "10.0.0.1/33",
            "10.0.0.1/",
            "10.0.0/8",
            "::1/129",
            "1.2.3.4/x",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
