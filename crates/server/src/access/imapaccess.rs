//! Courier's access file (`IMAPACCESSFILE`: the text `makeimapaccess`
//! compiles for couriertcpd), read as it is. Each line is
//! `KEY<TAB>deny` or `KEY<TAB>allow[,VAR=value,...]`; the entry with the
//! most specific key that holds the client's address decides, then `*`;
//! an address no entry holds is allowed.
//!
//! Keys are what couriertcpd looks up: an IPv4 address or its first one
//! to three octets (`192.168.0`), an IPv6 address as `:hhhh:...` in
//! four-digit lowercase groups or its first groups (`:2002:c0a8`), `*`,
//! and the CIDR (`10.0.0.0/20`) and range (`a-b`) lines that
//! `makeimapaccess` expands. A line Courier would never match is
//! reported and ignored, as Courier ignores it; a file Courier's
//! `makedat` refuses (a key twice, a package manager's leftover in the
//! directory) is refused here too.
//!
//! Of the variables an entry sets, `MAXCPERIP` (the per-address
//! connection limit for the addresses it covers) is honoured; the others
//! set Courier settings in the session's environment, which Courser does
//! not take from there: each is reported once and ignored.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;

use ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};

/// What an entry says about the addresses it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Connections are accepted.
    pub allow: bool,
    /// `MAXCPERIP`: the connection limit per address, instead of
    /// `[limits] max_connections_per_ip`.
    pub max_per_ip: Option<usize>,
}

/// A parsed access file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImapAccess {
    /// Entries by prefix length, longest first, each a map from the
    /// network address to its verdict.
    by_length: BTreeMap<std::cmp::Reverse<u8>, HashMap<IpNet, Verdict>>,
    /// The `*` entry.
    star: Option<Verdict>,
}

/// An access file and what in it Courser ignores.
#[derive(Debug)]
pub struct Loaded {
    /// The entries.
    pub access: ImapAccess,
    /// Lines ignored and settings not used, one message each.
    pub warnings: Vec<String>,
}

impl ImapAccess {
    /// The verdict of the most specific entry that holds `ip` (IPv4-mapped
    /// IPv6 addresses count as IPv4), else of `*`; `None` when no entry
    /// holds it.
    pub fn lookup(&self, ip: IpAddr) -> Option<Verdict> {
        let ip = super::canonical(ip);
        self.by_length
            .iter()
            .find_map(|(len, entries)| {
                let net = IpNet::new(ip, len.0).ok()?.trunc();
                entries.get(&net).copied()
            })
            .or(self.star)
    }
}

/// Reads the access file at `path`: a text file, or a directory whose
/// files (not `*~`, not `*.dist`) together are the text, as
/// `makeimapaccess` reads it.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_dir() {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return parse(&[(path.display().to_string(), text)]);
    }
    let mut files = Vec::new();
    let listing = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for entry in listing {
        let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = entry.path();
        if !file.is_file() || name.ends_with('~') {
            continue;
        }
        if name.contains(".dpkg-") || name.ends_with(".rpmsave") || name.ends_with(".rpmnew") {
            return Err(format!(
                "{}: a package manager's leftover; merge it into the file it belongs to and remove it",
                file.display()
            ));
        }
        if name.ends_with(".dist") {
            continue;
        }
        let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        files.push((file.display().to_string(), text));
    }
    files.sort();
    parse(&files)
}

/// Parses access file texts, each named for messages.
pub fn parse(files: &[(String, Vec<u8>)]) -> Result<Loaded, String> {
    let mut access = ImapAccess::default();
    let mut warnings = Vec::new();
    let mut ignored_vars: BTreeMap<String, usize> = BTreeMap::new();
    for (origin, text) in files {
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = String::from_utf8_lossy(line);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() || line.starts_with('#') || line == "." {
                continue;
            }
            let at = || format!("{origin} line {}", n + 1);
            let Some((keys, value)) = entry(line) else {
                warnings.push(format!(
                    "{}: {line:?} matches no address (an address, then one tab, then allow or deny); ignored",
                    at()
                ));
                continue;
            };
            let verdict = verdict(value, &mut ignored_vars);
            for key in keys {
                let fresh = match key {
                    Key::Star => access.star.replace(verdict).is_none(),
                    Key::Net(net) => access
                        .by_length
                        .entry(std::cmp::Reverse(net.prefix_len()))
                        .or_default()
                        .insert(net, verdict)
                        .is_none(),
                };
                if !fresh {
                    return Err(format!(
                        "{}: a second entry for an address already listed (makeimapaccess refuses this too)",
                        at()
                    ));
                }
            }
        }
    }
    for (name, count) in ignored_vars {
        warnings.push(format!(
            "{name} is set by {count} entr{} for Courier's session environment; Courser does not take settings from there and ignores it",
            if count == 1 { "y" } else { "ies" }
        ));
    }
    Ok(Loaded { access, warnings })
}

/// An entry's key: what it covers.
enum Key {
    Star,
    Net(IpNet),
}

/// Splits a line into the networks its key covers and its value; `None`
/// for a key no address ever matches.
fn entry(line: &str) -> Option<(Vec<Key>, &str)> {
    // makeimapaccess's netblock lines: the key ends at any white space.
    if let Some(end) = line.find(char::is_whitespace) {
        let (key, rest) = line.split_at(end);
        if key.contains(['/', '-']) {
            return Some((netblock(key)?, rest.trim_start()));
        }
    }
    // Everything else: the key ends at the first tab; no tab, no value
    // (makedat stores "1").
    let (key, value) = line.split_once('\t').unwrap_or((line, "1"));
    let value = if value.is_empty() { "1" } else { value };
    let key = if key == "*" {
        Key::Star
    } else if let Some(groups) = key.strip_prefix(':') {
        Key::Net(ipv6_prefix(groups)?)
    } else {
        Key::Net(ipv4_prefix(key)?)
    };
    Some((vec![key], value))
}

/// `a.b.c.d`, `a.b.c`, `a.b` or `a`, spelled as couriertcpd spells an
/// address (no leading zeros); a fifth part is a local port
/// (`-accesslocal`, which Courier's IMAP server does not use).
fn ipv4_prefix(key: &str) -> Option<IpNet> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (octet, part) in octets.iter_mut().zip(&parts) {
        *octet = part.parse().ok()?;
        if octet.to_string() != *part {
            return None;
        }
    }
    IpNet::new(IpAddr::from(octets), 8 * parts.len() as u8).ok()
}

/// `hhhh:hhhh:...` (after the leading `:`): one to eight groups of four
/// lowercase hex digits.
fn ipv6_prefix(groups: &str) -> Option<IpNet> {
    let parts: Vec<&str> = groups.split(':').collect();
    if parts.len() > 8 {
        return None;
    }
    let mut words = [0u16; 8];
    for (word, part) in words.iter_mut().zip(&parts) {
        let canonical = part.len() == 4
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !canonical {
            return None;
        }
        *word = u16::from_str_radix(part, 16).ok()?;
    }
    IpNet::new(IpAddr::from(words), 16 * parts.len() as u8).ok()
}

/// A CIDR block or an `a-b` range, as makeimapaccess's `-cidr` reads them.
fn netblock(key: &str) -> Option<Vec<Key>> {
    if let Ok(net) = key.parse::<IpNet>() {
        return Some(vec![Key::Net(net.trunc())]);
    }
    let (from, to) = key.split_once('-')?;
    let nets: Vec<IpNet> = match (from.parse::<IpAddr>().ok()?, to.parse::<IpAddr>().ok()?) {
        (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => {
            Ipv4Subnets::new(a, b, 0).map(IpNet::V4).collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => {
            Ipv6Subnets::new(a, b, 0).map(IpNet::V6).collect()
        }
        _ => return None,
    };
    Some(nets.into_iter().map(Key::Net).collect())
}

/// An entry's value as couriertcpd reads it: `deny...` refuses; anything
/// else accepts, after an optional `allow,`, with comma-separated
/// variables (quotes group, `NAME` alone sets it empty).
fn verdict(value: &str, ignored: &mut BTreeMap<String, usize>) -> Verdict {
    if value.starts_with("deny") {
        return Verdict {
            allow: false,
            max_per_ip: None,
        };
    }
    let mut max_per_ip = None;
    let rest = value.strip_prefix("allow").unwrap_or(value);
    let rest = rest.strip_prefix(',').unwrap_or(rest);
    // A line with no value: makedat's "1", which sets nothing useful.
    if value == "1" {
        return Verdict {
            allow: true,
            max_per_ip,
        };
    }
    for assignment in variables(rest) {
        let (name, setting) = assignment.split_once('=').unwrap_or((&assignment, ""));
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if name == "MAXCPERIP" {
            // couriertcpd keeps its own limit unless this is a number
            // above 0.
            match setting.trim().parse::<usize>() {
                Ok(n) if n > 0 => max_per_ip = Some(n),
                _ => {
                    *ignored
                        .entry("MAXCPERIP (not a number above 0)".into())
                        .or_default() += 1
                }
            }
        } else {
            *ignored.entry(name.to_owned()).or_default() += 1;
        }
    }
    Verdict {
        allow: true,
        max_per_ip,
    }
}

/// Splits `NAME=value,NAME="a,b"` at the commas outside quotes, removing
/// the quotes.
fn variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (None, ',') => out.push(std::mem::take(&mut current)),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => current.push(c),
        }
    }
    out.push(current);
    out.retain(|a| !a.trim().is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(text: &str) -> Loaded {
        parse(&[("imapaccess".into(), text.as_bytes().to_vec())]).unwrap()
    }

    fn allowed(a: &ImapAccess, ip: &str) -> Option<bool> {
        a.lookup(ip.parse().unwrap()).map(|v| v.allow)
    }

    #[test]
    fn the_most_specific_entry_decides_whatever_the_order() {
        let loaded = access(
            "# comment\n\n192.168.0.10\tallow\n192.168.0\tdeny\n10\tdeny\n*\tallow,MAXCPERIP=3\n",
        );
        let a = &loaded.access;
        assert_eq!(allowed(a, "192.168.0.10"), Some(true));
        assert_eq!(allowed(a, "192.168.0.11"), Some(false));
        assert_eq!(allowed(a, "::ffff:192.168.0.11"), Some(false));
        assert_eq!(allowed(a, "10.200.1.1"), Some(false));
        let star = a.lookup("172.16.0.1".parse().unwrap()).unwrap();
        assert_eq!(
            star,
            Verdict {
                allow: true,
                max_per_ip: Some(3)
            }
        );
        assert_eq!(allowed(a, "2001:db8::1"), Some(true));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let none = access("10\tdeny\n");
        assert_eq!(none.access.lookup("11.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn ipv6_keys_are_four_digit_lowercase_groups() {
        let loaded = access(
            ":2002:c0a8\tdeny\n:0000:0000:0000:0000:0000:f643:00a2:9354\tdeny\n:3FFE\tdeny\n:3ffe:1\tdeny\n",
        );
        let a = &loaded.access;
        assert_eq!(allowed(a, "2002:c0a8::1"), Some(false));
        assert_eq!(allowed(a, "2002:c0a9::1"), None);
        assert_eq!(allowed(a, "::f643:a2:9354"), Some(false));
        // Courier never matches these two (its lookups are lowercase,
        // four digits a group): reported, ignored.
        assert_eq!(allowed(a, "3ffe::1"), None);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    }

    #[test]
    fn netblocks_and_ranges_are_expanded_as_makeimapaccess_does() {
        let loaded = access("10.1.0.0/16 deny\n192.0.2.8-192.0.2.11\tdeny\n2001:db8::/32\tdeny\n");
        let a = &loaded.access;
        assert_eq!(allowed(a, "10.1.255.1"), Some(false));
        assert_eq!(allowed(a, "10.2.0.1"), None);
        assert_eq!(allowed(a, "192.0.2.7"), None);
        assert_eq!(allowed(a, "192.0.2.8"), Some(false));
        assert_eq!(allowed(a, "192.0.2.11"), Some(false));
        assert_eq!(allowed(a, "192.0.2.12"), None);
        assert_eq!(allowed(a, "2001:db8:5::1"), Some(false));
    }

    #[test]
    fn variables_are_read_as_couriertcpd_reads_them() {
        let loaded = access(
            "1.2.3.4\tallow,MAXCPERIP=100,DEFDOMAIN=\"@a,b\",IMAP_CAPABILITY\n1.2.3.5\n1.2.3.6\tdenyall\n",
        );
        let a = &loaded.access;
        let v = a.lookup("1.2.3.4".parse().unwrap()).unwrap();
        assert_eq!(
            v,
            Verdict {
                allow: true,
                max_per_ip: Some(100)
            }
        );
        assert_eq!(allowed(a, "1.2.3.5"), Some(true));
        assert_eq!(allowed(a, "1.2.3.6"), Some(false));
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].starts_with("DEFDOMAIN"));
        assert_eq!(variables("A=\"x,y\",B='1',C"), ["A=x,y", "B=1", "C"]);
    }

    #[test]
    fn lines_courier_ignores_are_reported_and_ignored() {
        let loaded = access("192.168.0 deny\n001.2.3.4\tdeny\n1.2.3.4.25\tdeny\n");
        assert_eq!(loaded.access, ImapAccess::default());
        assert_eq!(loaded.warnings.len(), 3, "{:?}", loaded.warnings);
    }

    #[test]
    fn what_makedat_refuses_is_refused() {
        let twice = parse(&[("f".into(), b"1.2.3\tdeny\n1.2.3\tallow\n".to_vec())]);
        assert!(twice.unwrap_err().contains("line 2"));
        let bad_limit = access("1.2.3\tallow,MAXCPERIP=lots\n");
        let v = bad_limit.access.lookup("1.2.3.4".parse().unwrap()).unwrap();
        assert_eq!(
            v,
            Verdict {
                allow: true,
                max_per_ip: None
            }
        );
        assert_eq!(bad_limit.warnings.len(), 1);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("local"), "1.2.3\tdeny\n").unwrap();
        std::fs::write(dir.path().join("old~"), "1.2.3\tallow\n").unwrap();
        std::fs::write(dir.path().join("x.dist"), "1.2.3\tallow\n").unwrap();
        let loaded = load(dir.path()).unwrap();
        assert_eq!(allowed(&loaded.access, "1.2.3.4"), Some(false));
        std::fs::write(dir.path().join("local.dpkg-dist"), "").unwrap();
        assert!(load(dir.path()).unwrap_err().contains("leftover"));
    }
}
