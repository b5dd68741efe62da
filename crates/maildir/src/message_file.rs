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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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
