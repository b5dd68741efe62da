//! Access rules by client address: `[access] rules`, an ordered list of
//! `allow NET` / `deny NET` rules, IPv4 and IPv6, first match wins, an
//! address no rule names allowed; and for IMAP listeners Courier's own
//! access file ([`imapaccess`]). IPv4-mapped IPv6 addresses (from
//! dual-stack listeners) are matched as IPv4.

pub mod imapaccess;

use std::net::IpAddr;

use ipnet::IpNet;

pub use imapaccess::{ImapAccess, Verdict};

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    allow: bool,
    net: IpNet,
}

/// The rule list, and Courier's access file for IMAP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    rules: Vec<Rule>,
    imapaccess: Option<ImapAccess>,
}

/// Parses one network: `a.b.c.d/n`, `x::/n`, or a bare address.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("not an address or network: {text:?}"))
}

/// The address as a rule sees it (IPv4-mapped IPv6 unwrapped).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl AccessRules {
    /// Parses rules written as `"allow 10.0.0.0/8"` / `"deny ::/0"`.
    pub fn parse(lines: &[String]) -> Result<AccessRules, String> {
        let mut rules = Vec::new();
        for line in lines {
            let mut words = line.split_whitespace();
            let allow = match words.next() {
                Some("allow") => true,
                Some("deny") => false,
                _ => return Err(format!("rule must start with allow or deny: {line:?}")),
            };
            let net = match (words.next(), words.next()) {
                (Some(net), None) => parse_net(net)?,
                _ => return Err(format!("rule must name one network: {line:?}")),
            };
            rules.push(Rule { allow, net });
        }
        Ok(AccessRules {
            rules,
            imapaccess: None,
        })
    }

    /// The rules with Courier's access file `imapaccess` for IMAP.
    pub fn with_imapaccess(self, imapaccess: ImapAccess) -> AccessRules {
        AccessRules {
            imapaccess: Some(imapaccess),
            ..self
        }
    }

    /// Courier's access file, when one was read.
    pub fn imapaccess(&self) -> Option<&ImapAccess> {
        self.imapaccess.as_ref()
    }

    /// Whether `ip` may connect, over IMAP when `imap` (Courier's access
    /// file is imapd's: its POP3 server has none), and its per-address
    /// connection limit when the access file sets one. A connection the
    /// rule list denies is denied, whatever the access file says.
    pub fn check(&self, ip: IpAddr, imap: bool) -> Verdict {
        let ip = canonical(ip);
        let allow = self
            .rules
            .iter()
            .find(|r| r.net.contains(&ip))
            .is_none_or(|r| r.allow);
        let file = self
            .imapaccess
            .as_ref()
            .filter(|_| imap)
            .and_then(|f| f.lookup(ip));
        match file {
            Some(verdict) if allow => verdict,
            _ => Verdict {
                allow,
                max_per_ip: None,
            },
        }
    }
}

/// Whether `ip` is inside one of `nets`.
pub fn in_any(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    nets.iter().any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_mapped_addresses_count_as_ipv4() {
        let rules = AccessRules::parse(&[
            "allow 192.0.2.7".into(),
            "deny 192.0.2.0/24".into(),
            "deny 2001:db8::/32".into(),
        ])
        .unwrap();
        let allows = |ip: &str| rules.check(ip.parse().unwrap(), false).allow;
        assert!(allows("192.0.2.7"));
        assert!(!allows("192.0.2.8"));
        assert!(!allows("::ffff:192.0.2.8"));
        assert!(!allows("2001:db8::5"));
        assert!(allows("198.51.100.1"));
        assert!(AccessRules::parse(&["permit 1.2.3.4".into()]).is_err());
        assert!(AccessRules::parse(&["deny 1.2.3.4/33".into()]).is_err());
    }

    #[test]
    fn the_access_file_applies_to_imap_after_the_rules() {
        let file = imapaccess::parse(&[(
            "f".into(),
            b"192.0.2\tdeny\n198.51.100\tallow,MAXCPERIP=2\n203.0.113.9\tallow\n".to_vec(),
        )])
        .unwrap()
        .access;
        let rules = AccessRules::parse(&["deny 203.0.113.0/24".into()])
            .unwrap()
            .with_imapaccess(file);
        let check = |ip: &str, imap| rules.check(ip.parse().unwrap(), imap);
        assert!(!check("192.0.2.1", true).allow);
        assert!(check("192.0.2.1", false).allow);
        assert_eq!(check("198.51.100.1", true).max_per_ip, Some(2));
        assert_eq!(check("198.51.100.1", false).max_per_ip, None);
        assert!(!check("203.0.113.9", true).allow);
        assert!(check("10.0.0.1", true).allow);
    }
}
