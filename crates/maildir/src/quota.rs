//! Maildir++ quota: the `maildirsize` file (spec §7).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, IoContext, Result};
use crate::tmpfile::TmpFile;

/// File name of the quota file in the main maildir.
pub const MAILDIRSIZE: &str = "maildirsize";
/// Files of this size or more are recalculated (Courier's 5120-byte read).
const MAX_SIZE: usize = 5120;
/// Folder never counted toward the quota (compile-time name in Courier).
pub const TRASH_DIR: &str = ".Trash";

/// Quota limits: `None` = unlimited in that dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaLimits {
    /// Maximum total bytes (`<n>S`).
    pub bytes: Option<u64>,
    /// Maximum message count (`<n>C`).
    pub count: Option<u64>,
}

impl QuotaLimits {
    /// Parses a quota specification such as `10000000S,1000C`. Unknown
    /// parts are ignored; `0` means unlimited.
    pub fn parse(spec: &str) -> QuotaLimits {
        let mut q = QuotaLimits::default();
        for part in spec.trim().split(',') {
            let part = part.trim();
            let Some(last) = part.chars().last() else {
                continue;
            };
            let num = &part[..part.len() - last.len_utf8()];
            let Ok(n) = num.parse::<u64>() else { continue };
            let v = if n == 0 { None } else { Some(n) };
            match last {
                'S' => q.bytes = v,
                'C' => q.count = v,
                _ => {}
            }
        }
        q
    }

    /// True if neither dimension is limited.
    pub fn is_unlimited(&self) -> bool {
        self.bytes.is_none() && self.count.is_none()
    }
}

/// Current usage and limits, as reported for GETQUOTAROOT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaUsage {
    /// The quota line as written in the file.
    pub spec: String,
    /// Parsed limits.
    pub limits: QuotaLimits,
    /// Bytes in use.
    pub bytes: i64,
    /// Messages in use.
    pub count: i64,
}

impl QuotaUsage {
    /// Percent full: max of bytes% and count% (0 when unlimited).
    pub fn percent(&self) -> u64 {
        let pct = |used: i64, lim: Option<u64>| -> u64 {
            match lim {
                Some(l) if l > 0 => {
                    let u = u64::try_from(used.max(0)).unwrap_or(0);
                    if l > 20_000_000 {
                        (u / 1024).saturating_mul(100) / (l / 1024).max(1)
                    } else {
                        u.saturating_mul(100) / l
                    }
                }
                _ => 0,
            }
        };
        pct(self.bytes, self.limits.bytes).max(pct(self.count, self.limits.count))
    }

    fn fits(&self, bytes: i64, count: i64) -> bool {
        let over = |used: i64, add: i64, lim: Option<u64>| match lim {
            Some(l) if add > 0 => used.saturating_add(add) > i64::try_from(l).unwrap_or(i64::MAX),
            _ => false,
        };
        !(over(self.bytes, bytes, self.limits.bytes) || over(self.count, count, self.limits.count))
    }
}

/// The file as read.
#[derive(Debug)]
struct SizeFile {
    usage: QuotaUsage,
    data_lines: usize,
    force_recalc: bool,
    mtime: Option<SystemTime>,
}

fn parse_num(s: &str) -> Option<i64> {
    s.parse::<i64>().ok()
}

/// Parses `maildirsize` contents. Returns the usage, number of data lines
/// and whether a recalculation is forced (file too big, malformed line,
/// negative totals).
pub fn parse_maildirsize(data: &[u8]) -> (QuotaUsage, usize, bool) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let spec = lines.next().unwrap_or("").trim().to_string();
    let mut force = data.len() >= MAX_SIZE;
    let (mut bytes, mut count, mut n) = (0i64, 0i64, 0usize);
    if !force {
        for l in lines {
            if l.trim().is_empty() {
                continue;
            }
            let mut it = l.split_ascii_whitespace();
            match (it.next().and_then(parse_num), it.next().and_then(parse_num)) {
                (Some(b), Some(c)) => {
                    bytes = bytes.saturating_add(b);
                    count = count.saturating_add(c);
                    n += 1;
                }
                _ => force = true,
            }
        }
    }
    if bytes < 0 || count < 0 {
        force = true;
    }
    let limits = QuotaLimits::parse(&spec);
    (
        QuotaUsage {
            spec,
            limits,
            bytes,
            count,
        },
        n,
        force,
    )
}

fn read(root: &Path) -> Result<Option<SizeFile>> {
    let path = root.join(MAILDIRSIZE);
    let mut f = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut buf = Vec::with_capacity(MAX_SIZE);
    Read::by_ref(&mut f)
        .take(MAX_SIZE as u64)
        .read_to_end(&mut buf)
        .at(&path)?;
    let mtime = f.metadata().and_then(|m| m.modified()).ok();
    let (usage, data_lines, force_recalc) = parse_maildirsize(&buf);
    Ok(Some(SizeFile {
        usage,
        data_lines,
        force_recalc,
        mtime,
    }))
}

/// Reads the current usage; recalculates first if the file asks for it.
/// `None` if the maildir has no quota.
pub fn usage(root: &Path, host: &str) -> Result<Option<QuotaUsage>> {
    match read(root)? {
        None => Ok(None),
        Some(sf) if sf.force_recalc => Ok(Some(recalculate(root, host, &sf.usage.spec)?)),
        Some(sf) => Ok(Some(sf.usage)),
    }
}

/// Appends a `<bytes> <count>` line (no check). No-op without a quota file.
pub fn record(root: &Path, bytes: i64, count: i64) -> Result<()> {
    if bytes == 0 && count == 0 {
        return Ok(());
    }
    let path = root.join(MAILDIRSIZE);
    let mut f = match OpenOptions::new().append(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let line = format!("{bytes:>12} {count:>12}\n");
    f.write_all(line.as_bytes()).at(&path)
}

/// Checks that adding `bytes`/`count` fits the quota (spec §7.3); on success
/// the addition is recorded. Returns [`Error::OverQuota`] otherwise.
pub fn add(root: &Path, host: &str, bytes: i64, count: i64) -> Result<()> {
    if !check(root, host, bytes, count)? {
        return Err(Error::OverQuota);
    }
    record(root, bytes, count)
}

/// The check of [`add`] without recording.
pub fn check(root: &Path, host: &str, bytes: i64, count: i64) -> Result<bool> {
    let Some(sf) = read(root)? else {
        return Ok(true);
    };
    if !sf.force_recalc && sf.usage.fits(bytes, count) {
        return Ok(true);
    }
    if !sf.force_recalc && sf.data_lines == 1 {
        let young = sf
            .mtime
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .map(|d| d < Duration::from_secs(15 * 60))
            .unwrap_or(false);
        if young {
            return Ok(false);
        }
    }
    for _ in 0..5 {
        match recalc_once(root, host, &sf.usage.spec) {
            Ok(u) => return Ok(u.fits(bytes, count)),
            Err(RecalcError::Race) => continue,
            Err(RecalcError::Other(e)) => return Err(e),
        }
    }
    Ok(true)
}

enum RecalcError {
    Race,
    Other(Error),
}

/// The folder directories counted toward the quota: the main maildir and
/// every `.folder` except `.Trash` and symlinks.
fn counted_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut v = vec![root.to_path_buf()];
    for e in fs::read_dir(root).at(root)?.flatten() {
        let name = e.file_name();
        let Some(n) = name.to_str() else { continue };
        if !n.starts_with('.') || n == "." || n == ".." || n.starts_with("..") || n == TRASH_DIR {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            v.push(e.path());
        }
    }
    Ok(v)
}

fn recalc_once(
    root: &Path,
    host: &str,
    spec: &str,
) -> std::result::Result<QuotaUsage, RecalcError> {
    let dirs = counted_dirs(root).map_err(RecalcError::Other)?;
    let mut max_mtime = SystemTime::UNIX_EPOCH;
    let (mut bytes, mut count) = (0i64, 0i64);
    let mut scanned = Vec::new();
    for d in &dirs {
        for sub in ["new", "cur"] {
            let p = d.join(sub);
            let Ok(md) = fs::metadata(&p) else { continue };
            if let Ok(m) = md.modified() {
                max_mtime = max_mtime.max(m);
            }
            scanned.push(p.clone());
            let Ok(rd) = fs::read_dir(&p) else { continue };
            for e in rd.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') {
                    continue;
                }
                if crate::flags::flags_of(&name).contains(crate::Flags::DELETED) {
                    continue;
                }
                let size = match crate::filename::size_tag(&name) {
                    Some(s) => s,
                    None => match e.metadata() {
                        Ok(m) => m.len(),
                        Err(_) => continue,
                    },
                };
                bytes = bytes.saturating_add(i64::try_from(size).unwrap_or(i64::MAX));
                count += 1;
            }
        }
    }
    let body = format!("{spec}\n{bytes:>12} {count:>12}\n");
    let tmp = TmpFile::create(root, host, Some("NeWmAiLdIrSiZe"), 0o600)
        .and_then(|(t, mut f)| {
            f.write_all(body.as_bytes()).at(&t.path)?;
            Ok(t)
        })
        .map_err(RecalcError::Other)?;
    let dest = root.join(MAILDIRSIZE);
    fs::rename(&tmp.path, &dest)
        .at(&dest)
        .map_err(RecalcError::Other)?;
    tmp.keep();
    for p in &scanned {
        if let Ok(m) = fs::metadata(p).and_then(|m| m.modified()) {
            if m > max_mtime {
                return Err(RecalcError::Race);
            }
        }
    }
    Ok(QuotaUsage {
        spec: spec.to_string(),
        limits: QuotaLimits::parse(spec),
        bytes,
        count,
    })
}

/// Recalculates usage from the maildir and rewrites `maildirsize` with the
/// quota line `spec` (also how `maildirmake -q` installs a quota).
pub fn recalculate(root: &Path, host: &str, spec: &str) -> Result<QuotaUsage> {
    let mut last = None;
    for _ in 0..5 {
        match recalc_once(root, host, spec) {
            Ok(u) => return Ok(u),
            Err(RecalcError::Race) => last = None,
            Err(RecalcError::Other(e)) => last = Some(e),
        }
        if last.is_some() {
            break;
        }
    }
    match last {
        Some(e) => Err(e),
        None => read(root)?.map(|sf| sf.usage).ok_or_else(|| {
            Error::io(
                root.join(MAILDIRSIZE),
                io::Error::from(io::ErrorKind::NotFound),
            )
        }),
    }
}

/// Recalculates only if a quota file exists (after deleting a folder).
pub fn recalculate_if_present(root: &Path, host: &str) -> Result<()> {
    if let Some(sf) = read(root)? {
        recalculate(root, host, &sf.usage.spec)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_limits() {
        let q = QuotaLimits::parse("10000000S,1000C");
        assert_eq!(q.bytes, Some(10_000_000));
        assert_eq!(q.count, Some(1000));
        assert!(QuotaLimits::parse("0S").is_unlimited());
        assert!(QuotaLimits::parse("garbage,,S").is_unlimited());
    }

    #[test]
    fn parse_file() {
        let (u, n, force) = parse_maildirsize(b"100S\n          10            1\n-5 -1\n");
        assert_eq!((u.bytes, u.count, n, force), (5, 0, 2, false));
        let (_, _, force) = parse_maildirsize(b"100S\n-10 -1\n");
        assert!(force);
        let (_, _, force) = parse_maildirsize(b"100S\nzz\n");
        assert!(force);
    }
}
