//! Directory listing without an allocation per entry.
//!
//! `std::fs::read_dir` allocates twice per entry; a session lists `cur/`
//! often (SELECT, NOOP after its own changes, a POP3 login), so the
//! `getdents64` records are read from one buffer instead.

use std::io;
use std::path::Path;

use rustix::fs::{Mode, OFlags, RawDir};

/// Calls `each` with the name of every entry of `dir` that does not start
/// with `.` (so not `.` and `..` either), in directory order.
pub fn each_name(dir: &Path, mut each: impl FnMut(&[u8])) -> io::Result<()> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(dir, flags, Mode::empty())?;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut entries = RawDir::new(&fd, buf.spare_capacity_mut());
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name.first() != Some(&b'.') {
            each(name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_names_but_dot_files() {
        let d = tempfile::tempdir().unwrap();
        for name in ["a", ".hidden", "b:2,S"] {
            std::fs::write(d.path().join(name), "").unwrap();
        }
        let mut names = Vec::new();
        each_name(d.path(), |n| names.push(n.to_vec())).unwrap();
        names.sort();
        assert_eq!(names, [b"a".to_vec(), b"b:2,S".to_vec()]);
        let missing = each_name(&d.path().join("none"), |_| {}).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
