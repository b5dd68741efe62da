//! Access rules by client address (Courier's `imapaccess`): an ordered
//! list of `allow NET` / `deny NET` rules, IPv4 and IPv6, first match
//! wins; an address no rule names is allowed. IPv4-mapped IPv6 addresses
//! (from dual-stack listeners) are matched as IPv4.

use std::net::IpAddr;

use ipnet::IpNet;

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    allow: bool,
    net: IpNet,
}

/// The rule list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    rules: Vec<Rule>,
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
        Ok(AccessRules { rules })
    }

    /// Whether `ip` may connect.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.rules
            .iter()
            .find(|r| r.net.contains(&ip))
            .is_none_or(|r| r.allow)
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
        assert!(rules.allows("192.0.2.7".parse().unwrap()));
        assert!(!rules.allows("192.0.2.8".parse().unwrap()));
        assert!(!rules.allows("::ffff:192.0.2.8".parse().unwrap()));
        assert!(!rules.allows("2001:db8::5".parse().unwrap()));
        assert!(rules.allows("198.51.100.1".parse().unwrap()));
        assert!(AccessRules::parse(&["permit 1.2.3.4".into()]).is_err());
        assert!(AccessRules::parse(&["deny 1.2.3.4/33".into()]).is_err());
    }
}
