//! Unique file names (`<sec>.M<usec>P<pid>...`), size tags and the Courier
//! file-name ordering.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The host name for unique file names: `HOSTNAME` if set, else uname's
/// node name; `/` and `:` are escaped as `\057` and `\072` so the name can
/// never break the maildir syntax.
pub fn default_hostname() -> String {
    let raw = match std::env::var("HOSTNAME") {
        Ok(h) if !h.is_empty() => h,
        _ => rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
    };
    sanitize_host(&raw)
}

/// Escapes characters that may not appear in a maildir file name.
pub fn sanitize_host(raw: &str) -> String {
    let mut s = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '/' => s.push_str("\\057"),
            ':' => s.push_str("\\072"),
            c if c.is_control() => s.push('_'),
            c => s.push(c),
        }
    }
    if s.is_empty() {
        s.push_str("localhost");
    }
    s
}

/// The parts of a unique name that do not depend on the tmp file's inode.
#[derive(Debug, Clone)]
pub(crate) struct UniqueStem {
    pub sec: u64,
    pub usec: u32,
    pub pid: u32,
    pub uniq: String,
}

impl UniqueStem {
    /// A fresh stem: current time, our pid, and a per-process counter (plus
    /// the caller's word, if any) as discriminator.
    pub fn new(word: Option<&str>) -> UniqueStem {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = COUNTER.fetch_add(1, AtomicOrdering::Relaxed);
        let uniq = match word {
            Some(w) => format!("{w}{n}"),
            None => n.to_string(),
        };
        UniqueStem {
            sec: now.as_secs(),
            usec: now.subsec_micros(),
            pid: std::process::id(),
            uniq,
        }
    }

    /// `tmp/` name: `<sec>.M<usec>P<pid>_<uniq>.<host>`.
    pub fn tmp_name(&self, host: &str) -> String {
        format!(
            "{}.M{}P{}_{}.{}",
            self.sec, self.usec, self.pid, self.uniq, host
        )
    }

    /// `new/`/`cur/` base name:
    /// `<sec>.M<usec>P<pid>V<dev>I<ino>_<uniq>.<host>[,S=<size>[,W=<crlf size>]]`.
    pub fn final_name(&self, host: &str, dev: u64, ino: u64, sizes: Option<SizeTags>) -> String {
        let mut s = format!(
            "{}.M{}P{}V{:016X}I{:016X}_{}.{}",
            self.sec, self.usec, self.pid, dev, ino, self.uniq, host
        );
        if let Some(t) = sizes {
            s.push_str(&format!(",S={}", t.stored));
            if let Some(w) = t.crlf {
                s.push_str(&format!(",W={w}"));
            }
        }
        s
    }
}

/// The sizes a file name carries: `,S=` the stored size (Maildir++ quota,
/// Courier) and `,W=` the size with CRLF line ends (RFC822.SIZE, as
/// Dovecot writes it; Courier keeps it as opaque text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeTags {
    /// Bytes of the file.
    pub stored: u64,
    /// Bytes with every bare LF counted as CRLF, if known.
    pub crlf: Option<u64>,
}

/// The number after `tag` (`,S=`, `,W=`) in a file's base name, searched
/// backwards from the info separator, if present and numeric.
fn numeric_tag(file_name: &str, tag: &str) -> Option<u64> {
    let base = crate::flags::base_name(file_name);
    let i = base.rfind(tag)?;
    let digits = &base[i + tag.len()..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    digits[..end].parse().ok()
}

/// The `,S=<n>` size tag of a file name, if present and numeric.
pub fn size_tag(file_name: &str) -> Option<u64> {
    numeric_tag(file_name, ",S=")
}

/// The `,W=<n>` (RFC822.SIZE) tag of a file name, if present and numeric.
pub fn crlf_size_tag(file_name: &str) -> Option<u64> {
    numeric_tag(file_name, ",W=")
}

/// Leading decimal number of a name, like C's `atol` (0 if none).
fn leading_number(s: &str) -> i64 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut n: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
}

/// Courier's file-name order: numeric time prefix first, then byte order up
/// to the `:` info separator (which compares as end of string).
pub fn compare_names(a: &str, b: &str) -> Ordering {
    leading_number(a)
        .cmp(&leading_number(b))
        .then_with(|| crate::flags::base_name(a).cmp(crate::flags::base_name(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_tags() {
        assert_eq!(size_tag("1.M2P3.host,S=1234:2,S"), Some(1234));
        assert_eq!(size_tag("1.M2P3.host,S=12,W=14:2,S"), Some(12));
        assert_eq!(size_tag("1.M2P3.host"), None);
        assert_eq!(size_tag("1.M2P3.host,S=:2,"), None);
        assert_eq!(crlf_size_tag("1.M2P3.host,S=12,W=14:2,S"), Some(14));
        assert_eq!(crlf_size_tag("1.M2P3.host,S=12:2,W"), None);
    }

    #[test]
    fn ordering() {
        assert_eq!(compare_names("9.a", "10.a"), Ordering::Less);
        assert_eq!(compare_names("10.a:2,S", "10.a"), Ordering::Equal);
        assert_eq!(compare_names("10.a", "10.b"), Ordering::Less);
    }

    #[test]
    fn unique_names() {
        let s = UniqueStem::new(None);
        let n = s.final_name(
            "h",
            0x801,
            0x1234,
            Some(SizeTags {
                stored: 5,
                crlf: Some(7),
            }),
        );
        assert!(n.contains("V0000000000000801I0000000000001234_"));
        assert!(n.ends_with(".h,S=5,W=7"));
        assert_eq!((size_tag(&n), crlf_size_tag(&n)), (Some(5), Some(7)));
    }
}
