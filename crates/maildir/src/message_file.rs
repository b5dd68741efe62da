//! Opening a message file for reading: never through a symbolic link, and
//! only a regular file. A maildir belongs to its account (or, in the
//! shared model, to every account of the server's uid); a "message" that
//! is a symlink to `/etc/shadow`, another account's mail or a FIFO must
//! not be served or hang the session.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::OFlags;

/// Opens `path` read-only without following a final symbolic link
/// (`O_NOFOLLOW`: a symlink fails with `ELOOP`) and refuses anything but a
/// regular file. `O_NONBLOCK` keeps a FIFO from blocking the open; it
/// changes nothing for regular files.
pub fn open(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32)
        .open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// Opens a message of a shared folder's local copy (spec `maildir.md`
/// §8.1): `path` is a symlink, which is followed only when it points
/// straight at a file in `source` (the sharable folder's `cur/`); that
/// file is opened as [`open`] opens one. Anything else is refused, so a
/// link planted to another account's mail is not served.
pub fn open_linked(path: &Path, source: &Path) -> io::Result<File> {
    let target = match std::fs::read_link(path) {
        Ok(t) => t,
        // A plain file (not a link) is opened as any other.
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => return open(path),
        Err(e) => return Err(e),
    };
    let inside = target.parent() == Some(source)
        && target.file_name().is_some_and(|n| n != ".." && n != ".");
    if !inside {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: links outside its shared folder", path.display()),
        ));
    }
    open(&target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn shared_links_open_only_into_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("cur");
        std::fs::create_dir(&source).unwrap();
        std::fs::write(source.join("m"), "shared").unwrap();
        std::fs::write(dir.path().join("secret"), "secret").unwrap();
        let good = dir.path().join("good");
        std::os::unix::fs::symlink(source.join("m"), &good).unwrap();
        let mut s = String::new();
        open_linked(&good, &source)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "shared");
        let out = dir.path().join("out");
        std::os::unix::fs::symlink(dir.path().join("secret"), &out).unwrap();
        assert!(open_linked(&out, &source).is_err());
        let up = dir.path().join("up");
        std::os::unix::fs::symlink(source.join("../secret"), &up).unwrap();
        assert!(open_linked(&up, &source).is_err());
        // A link in the sharable folder itself is not followed either.
        std::os::unix::fs::symlink(dir.path().join("secret"), source.join("chain")).unwrap();
        let chain = dir.path().join("chain");
        std::os::unix::fs::symlink(source.join("chain"), &chain).unwrap();
        assert!(open_linked(&chain, &source).is_err());
    }

    #[test]
    fn only_regular_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "message").unwrap();
        let mut s = String::new();
        open(&real).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "message");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "secret").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        assert!(open(&link).is_err(), "a symlink is not followed");
        assert!(open(dir.path()).is_err(), "a directory is not a message");
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        assert!(open(&fifo).is_err(), "a FIFO neither opens nor blocks");
        assert_eq!(
            open(&dir.path().join("none")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
