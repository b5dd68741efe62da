//! The logic behind `courser maildirmake` (Courier's `maildirmake`) and
//! `courser deliver` (Courier's `deliverquota`).

use std::fs::{self, DirBuilder, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use courser_mime::CrlfLen;

use crate::error::{Error, IoContext, Result};
use crate::filename::SizeTags;
use crate::quota;
use crate::store::{make_subdirs, FOLDER_MARKER};
use crate::tmpfile::{link_into_place, TmpFile};

/// Creates a new maildir (`tmp/ new/ cur/`) with directory mode `mode`
/// (0700 normally, 0755 for a sharable maildir). Fails with
/// [`Error::AlreadyExists`] if it already is a maildir.
pub fn make_maildir(path: &Path, mode: u32) -> Result<()> {
    match DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if path.join("cur").is_dir() {
                return Err(Error::AlreadyExists(path.display().to_string()));
            }
        }
        Err(e) => return Err(Error::io(path, e)),
    }
    let _ = fs::set_permissions(path, Permissions::from_mode(mode));
    make_subdirs(path, mode)?;
    for sub in ["tmp", "new", "cur"] {
        let _ = fs::set_permissions(path.join(sub), Permissions::from_mode(mode));
    }
    Ok(())
}

/// Creates folder `folder` (a name below INBOX without the `INBOX.`
/// prefix, e.g. `Sent` or `Lists.rust`) in the maildir `maildir`; `mode`
/// overrides the directory mode (shared folders: 0755, 01777, ...).
pub fn make_folder(maildir: &Path, folder: &str, mode: Option<u32>) -> Result<()> {
    if !maildir.join("cur").is_dir() {
        return Err(Error::NotAMaildir(maildir.to_path_buf()));
    }
    let name = format!("INBOX.{folder}");
    let dir = maildir.join(crate::names::dir_name(&name)?);
    let m = mode.unwrap_or(0o700);
    match DirBuilder::new().mode(m).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists(name));
        }
        Err(e) => return Err(Error::io(&dir, e)),
    }
    make_subdirs(&dir, m)?;
    if mode.is_some() {
        for d in [
            dir.clone(),
            dir.join("tmp"),
            dir.join("new"),
            dir.join("cur"),
        ] {
            fs::set_permissions(&d, Permissions::from_mode(m)).at(&d)?;
        }
    }
    crate::store::write_folder_marker(&dir)
}

/// Installs (or replaces) the quota line of a maildir and recalculates its
/// usage (`maildirmake -q`).
pub fn set_quota(maildir: &Path, spec: &str) -> Result<quota::QuotaUsage> {
    let spec = spec.trim();
    if spec.contains('\n') {
        return Err(Error::Corrupt {
            path: maildir.join(quota::MAILDIRSIZE),
            reason: "quota specification contains a line break".into(),
        });
    }
    quota::recalculate(maildir, &crate::filename::default_hostname(), spec)
}

/// Parses a `maildirmake -s` mode word list (`read`, `write`, `group`,
/// comma-separated) into a directory mode.
pub fn shared_mode(words: &str) -> Option<u32> {
    let mut write = false;
    let mut group = false;
    let mut any = false;
    for w in words.split(',') {
        match w.trim() {
            "read" => any = true,
            "write" => {
                write = true;
                any = true
            }
            "group" => group = true,
            _ => return None,
        }
    }
    if !any && !group {
        return None;
    }
    let mut m = if write { 0o1777 } else { 0o755 };
    if group {
        m &= !0o007;
    }
    Some(m)
}

/// Options of [`deliver`].
#[derive(Debug, Clone, Default)]
pub struct DeliverOptions {
    /// Create the maildir if it does not exist (`-c`).
    pub create: bool,
    /// Quota specification to install (`deliverquota maildir QUOTA`).
    pub quota: Option<String>,
    /// Deliver a warning to INBOX when usage reaches this percentage
    /// (`-w N`), at most once per 24 hours.
    pub warn_percent: Option<u32>,
    /// Warning message file (`-W file`); default
    /// `/etc/courier/quotawarnmsg`, else a built-in text.
    pub warn_message: Option<PathBuf>,
    /// Host name for unique names (default `HOSTNAME`/uname).
    pub hostname: Option<String>,
}

/// Outcome of a successful [`deliver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Path of the new message in `new/`.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// True if a quota warning was delivered too.
    pub warned: bool,
}

/// The main maildir of a folder directory (its parent if it holds the
/// `maildirfolder` marker).
fn quota_root(dir: &Path) -> PathBuf {
    if dir.join(FOLDER_MARKER).exists() {
        if let Some(p) = dir.parent() {
            return p.to_path_buf();
        }
    }
    dir.to_path_buf()
}

fn counted_folder(dir: &Path) -> bool {
    !(dir.join(FOLDER_MARKER).exists()
        && dir
            .file_name()
            .map(|n| n == quota::TRASH_DIR)
            .unwrap_or(false))
}

/// Delivers a message read from `input` into `maildir/new` through tmp/,
/// honouring the quota (Courier's `deliverquota`). Fails with
/// [`Error::OverQuota`] when the message does not fit.
pub fn deliver(maildir: &Path, mut input: impl Read, opts: &DeliverOptions) -> Result<Delivered> {
    let host = opts
        .hostname
        .clone()
        .unwrap_or_else(crate::filename::default_hostname);
    if !maildir.join("tmp").is_dir() {
        if opts.create {
            make_maildir(maildir, 0o700).or_else(|e| match e {
                Error::AlreadyExists(_) => Ok(()),
                e => Err(e),
            })?;
        } else {
            return Err(Error::NotAMaildir(maildir.to_path_buf()));
        }
    }
    let root = quota_root(maildir);
    if let Some(spec) = &opts.quota {
        let current = fs::read(root.join(quota::MAILDIRSIZE))
            .ok()
            .map(|d| quota::parse_maildirsize(&d).0.spec);
        if current.as_deref() != Some(spec.trim()) {
            quota::recalculate(&root, &host, spec.trim())?;
        }
    }
    let (tmp, f) = TmpFile::create(maildir, &host, None, 0o600)?;
    let mut out = CrlfCounting {
        out: f,
        crlf: CrlfLen::default(),
    };
    let size = io::copy(&mut input, &mut out).at(&tmp.path)?;
    let CrlfCounting { out: mut f, crlf } = out;
    f.flush().at(&tmp.path)?;
    f.sync_all().at(&tmp.path)?;
    drop(f);
    let counted = counted_folder(maildir);
    let isize = i64::try_from(size).unwrap_or(i64::MAX);
    if counted && !quota::check(&root, &host, isize, 1)? {
        if let Some(p) = opts.warn_percent {
            let _ = quota_warning(&root, &host, p, opts.warn_message.as_deref());
        }
        return Err(Error::OverQuota);
    }
    let sizes = SizeTags {
        stored: size,
        crlf: Some(crlf.len()),
    };
    let name = tmp.stem.final_name(&host, tmp.dev, tmp.ino, Some(sizes));
    let dest = maildir.join("new").join(name);
    link_into_place(tmp, &dest)?;
    if counted {
        quota::record(&root, isize, 1)?;
    }
    let warned = match opts.warn_percent {
        Some(p) => quota_warning(&root, &host, p, opts.warn_message.as_deref()).unwrap_or(false),
        None => false,
    };
    Ok(Delivered {
        path: dest,
        size,
        warned,
    })
}

/// Passes a delivery through to its tmp file, counting its size with
/// CRLF line ends for the `,W=` tag.
struct CrlfCounting<W> {
    out: W,
    crlf: CrlfLen,
}

impl<W: Write> Write for CrlfCounting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.crlf.add(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

const BUILTIN_WARNING: &str = "From: Mail Delivery System <Mailer-Daemon@localhost>\n\
Subject: Mail quota warning\n\
Mime-Version: 1.0\n\
Content-Type: text/plain; charset=us-ascii\n\
Content-Transfer-Encoding: 7bit\n\
\n\
Your mailbox on the server is now more than the warning threshold full.\n\
So that you can continue to receive mail you need to remove some\n\
messages from your mailbox.\n";

/// Delivers the quota warning into INBOX if usage ≥ `percent` and no
/// warning was sent in the last 24 hours (`quotawarn` mtime). Returns true
/// if delivered.
fn quota_warning(root: &Path, host: &str, percent: u32, msg: Option<&Path>) -> Result<bool> {
    let Some(u) = quota::usage(root, host)? else {
        return Ok(false);
    };
    if u.limits.is_unlimited() || u.percent() < u64::from(percent) {
        return Ok(false);
    }
    let stamp = root.join("quotawarn");
    if let Ok(t) = fs::metadata(&stamp).and_then(|m| m.modified()) {
        if SystemTime::now()
            .duration_since(t)
            .map(|d| d < Duration::from_secs(86400))
            .unwrap_or(true)
        {
            return Ok(false);
        }
    }
    let body = match msg {
        Some(p) => fs::read(p).at(p)?,
        None => fs::read("/etc/courier/quotawarnmsg")
            .unwrap_or_else(|_| BUILTIN_WARNING.as_bytes().to_vec()),
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut data = format!(
        "Date: {}\nMessage-Id: <{now}.overquota@{host}>\n",
        rfc2822_date(now)
    )
    .into_bytes();
    data.extend_from_slice(&body);
    let (tmp, mut f) = TmpFile::create(root, host, Some("warn"), 0o600)?;
    f.write_all(&data).at(&tmp.path)?;
    drop(f);
    let size = data.len() as u64;
    let sizes = SizeTags {
        stored: size,
        crlf: Some(courser_mime::crlf_len(&data)),
    };
    let name = tmp.stem.final_name(host, tmp.dev, tmp.ino, Some(sizes));
    link_into_place(tmp, &root.join("new").join(name))?;
    quota::record(root, i64::try_from(size).unwrap_or(i64::MAX), 1)?;
    fs::write(&stamp, b"").at(&stamp)?;
    Ok(true)
}

/// Formats a Unix time as an RFC 2822 date in UTC.
fn rfc2822_date(t: u64) -> String {
    let days = t / 86400;
    let secs = t % 86400;
    // civil from days (Howard Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} +0000",
        WD[(days % 7) as usize],
        d,
        MON[((m - 1).clamp(0, 11)) as usize],
        y,
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date() {
        assert_eq!(rfc2822_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc2822_date(1_700_000_000),
            "Tue, 14 Nov 2023 22:13:20 +0000"
        );
    }

    #[test]
    fn modes() {
        assert_eq!(shared_mode("read"), Some(0o755));
        assert_eq!(shared_mode("write"), Some(0o1777));
        assert_eq!(shared_mode("read,group"), Some(0o750));
        assert_eq!(shared_mode("bogus"), None);
    }
}
