//! Reading files that other hosts replace by rename (`courierimapuiddb`,
//! the keyword list) on a network file system.
//!
//! A rename over a file by another NFS or GlusterFS client leaves this
//! host's open file, or the name it looked up a moment before, pointing
//! at an inode the server no longer has: the next read fails with
//! `ESTALE`. Looking the name up again finds the new file, so such a read
//! is retried a few times before the error counts.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

/// Reads of a file replaced meanwhile that are tried before `ESTALE` is
/// an error. Each retry looks the name up again, and the pause between
/// them outlasts a FUSE entry cache of a second at most once or twice.
const ATTEMPTS: u32 = 5;
const PAUSE: Duration = Duration::from_millis(100);

fn stale(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::STALE.raw_os_error())
}

/// Runs `read` (which opens the file itself) again while it fails with
/// `ESTALE`, up to [`ATTEMPTS`] times in all.
pub(crate) fn retried<T>(mut read: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut attempt = 1;
    loop {
        match read() {
            Err(e) if stale(&e) && attempt < ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(PAUSE);
            }
            done => return done,
        }
    }
}

/// The whole file at `path` ([`fs::read`] with the `ESTALE` retry).
pub(crate) fn read(path: &Path) -> io::Result<Vec<u8>> {
    retried(|| fs::read(path))
}

/// Opens `path` and runs `read` on it, both again on `ESTALE`.
pub(crate) fn read_with<T>(
    path: &Path,
    mut read: impl FnMut(&mut fs::File) -> io::Result<T>,
) -> io::Result<T> {
    retried(|| fs::File::open(path).and_then(|mut f| read(&mut f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estale() -> io::Error {
        io::Error::from_raw_os_error(rustix::io::Errno::STALE.raw_os_error())
    }

    #[test]
    fn a_stale_read_is_tried_again() {
        let mut calls = 0;
        let got = retried(|| {
            calls += 1;
            if calls < 3 {
                Err(estale())
            } else {
                Ok(calls)
            }
        });
        assert_eq!(got.unwrap(), 3);
    }

    #[test]
    fn a_read_that_stays_stale_fails_after_the_last_attempt() {
        let mut calls = 0;
        let got: io::Result<()> = retried(|| {
            calls += 1;
            Err(estale())
        });
        assert!(stale(&got.unwrap_err()));
        assert_eq!(calls, ATTEMPTS);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let mut calls = 0;
        let got: io::Result<()> = retried(|| {
            calls += 1;
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        });
        assert_eq!(got.unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(calls, 1);
    }
}
