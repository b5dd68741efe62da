//! Courier's authpipe (spec §4): an external program, started once and
//! kept running, answers authdaemond-format requests on its standard
//! input and output. Requests are serialised (one at a time per backend,
//! as one authdaemond worker does).
//!
//! A program that exits, or closes its output, without replying reports
//! a temporary failure (authpipe's rule); so do a program that cannot be
//! started and one that does not answer within the timeout. The program
//! is (re)started on the next request. `FAIL` means unknown user or
//! wrong password, and lets later backends try (see
//! [`crate::authdaemond`]).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use crate::authdaemond::{wire_backend, wire_builders, WireClient, WireOptions};
use crate::error::AuthError;
use crate::wire;

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<TimedReader>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a child's output, failing with `TimedOut` past a deadline.
struct TimedReader {
    inner: ChildStdout,
    deadline: Instant,
    /// Push the deadline this far on after each read (a long answer).
    idle: Option<std::time::Duration>,
}

impl Read for TimedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let left = self.deadline.saturating_duration_since(Instant::now());
        let timeout = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let fd = self.inner.as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        if poll(&mut fds, Some(&timeout))? == 0 {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time"));
        }
        let n = self.inner.read(buf)?;
        if let Some(idle) = self.idle {
            self.deadline = Instant::now() + idle;
        }
        Ok(n)
    }
}

/// The authpipe backend.
pub struct AuthpipeBackend {
    opts: WireOptions,
    program: PathBuf,
    args: Vec<String>,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for AuthpipeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthpipeBackend")
            .field("program", &self.program)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl AuthpipeBackend {
    /// A backend running `program` with `args`.
    pub fn new(program: impl Into<PathBuf>, args: Vec<String>) -> Self {
        AuthpipeBackend {
            opts: WireOptions::new("authpipe"),
            program: program.into(),
            args,
            running: Mutex::new(None),
        }
    }

    wire_builders!();

    /// The program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    fn start(&self) -> Result<Running, String> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err("no pipes to the program".into());
        };
        Ok(Running {
            child,
            stdin,
            stdout: BufReader::new(TimedReader {
                inner: stdout,
                deadline: Instant::now(),
                idle: None,
            }),
        })
    }
}

impl WireClient for AuthpipeBackend {
    fn options(&self) -> &WireOptions {
        &self.opts
    }

    fn exchange<T>(
        &self,
        request: &[u8],
        long: bool,
        read: impl FnOnce(&mut dyn BufRead) -> Result<T, wire::WireError>,
    ) -> Result<T, AuthError> {
        let unavailable = |e: String| AuthError::unavailable("authpipe", e);
        let mut guard = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard
            .as_mut()
            .is_some_and(|r| matches!(r.child.try_wait(), Ok(Some(_))))
        {
            *guard = None;
        }
        if guard.is_none() {
            *guard = Some(self.start().map_err(unavailable)?);
        }
        let Some(running) = guard.as_mut() else {
            return Err(unavailable("not running".into()));
        };
        let timing = running.stdout.get_mut();
        timing.deadline = Instant::now() + self.opts.timeout;
        timing.idle = long.then_some(self.opts.timeout);
        let result = running
            .stdin
            .write_all(request)
            .and_then(|()| running.stdin.flush())
            .map_err(|e| e.to_string())
            .and_then(|()| read(&mut running.stdout).map_err(|e| e.to_string()));
        match result {
            Ok(answer) => Ok(answer),
            Err(e) => {
                // Restart for the next request: the program's state is unknown.
                *guard = None;
                Err(unavailable(format!("{}: {e}", self.program.display())))
            }
        }
    }
}

wire_backend!(AuthpipeBackend);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, Verdict};
    use std::time::Duration;

    const PROGRAM: &str = r#"
while IFS= read -r line; do
  case "$line" in
    "PRE . imap ann") printf 'UID=1\nGID=2\nHOME=/h\nADDRESS=ann\nPASSWD2=one\n.\n' ;;
    ENUMERATE) printf '# authpipe\n\nann\t1\t2\t/h\t\tx=1\nbob\t3\t4\t/b\t/m\t\n.\n' ;;
    PRE*) printf 'FAIL\n' ;;
    "PASSWD imap	ann	one	two") printf 'OK\n' ;;
    PASSWD*) printf 'FAIL\n' ;;
    AUTH*)
      body=$(head -c "${line#AUTH }")
      case "$body" in
        *crash*) exit 0 ;;
        *slow*) sleep 5 ;;
        *"ann
one") printf 'UID=1\nGID=2\nHOME=/h\nADDRESS=ann\n.\n' ;;
        *) printf 'FAIL\n' ;;
      esac ;;
  esac
done
"#;

    #[test]
    fn program_answers_fails_and_restarts() {
        let pipe = AuthpipeBackend::new("/bin/sh", vec!["-c".into(), PROGRAM.into()])
            .timeout(Duration::from_millis(500));
        let ok = pipe.authenticate("imap", "ann", b"one").unwrap();
        assert!(matches!(ok, Verdict::Accepted(ref a) if a.uid == 1 && a.home == Path::new("/h")));
        assert_eq!(
            pipe.authenticate("imap", "ann", b"two"),
            Ok(Verdict::Unknown)
        );
        let e = pipe.lookup("imap", "ann").unwrap().unwrap();
        assert_eq!(e.clear_password.as_deref(), Some("one"));
        assert_eq!(pipe.lookup("imap", "bob").unwrap(), None);
        // Exits without answering: temporary; then restarted.
        assert!(pipe
            .authenticate("imap", "crash", b"x")
            .unwrap_err()
            .is_temporary());
        assert!(matches!(
            pipe.authenticate("imap", "ann", b"one"),
            Ok(Verdict::Accepted(_))
        ));
        // Too slow: temporary.
        assert!(pipe
            .authenticate("imap", "slow", b"x")
            .unwrap_err()
            .is_temporary());
        // A password the protocol cannot carry never matches.
        assert_eq!(
            pipe.authenticate("imap", "ann", b"o\nne"),
            Ok(Verdict::Rejected)
        );
        // PASSWD: the program's OK or FAIL; FAIL is a refusal, not a wrong password.
        assert_eq!(pipe.change_password("imap", "ann", b"one", b"two"), Ok(()));
        assert!(matches!(
            pipe.change_password("imap", "ann", b"one", b"three"),
            Err(AuthError::Unsupported { .. })
        ));
        assert_eq!(
            pipe.change_password("imap", "ann", b"one", b"t\two"),
            Err(AuthError::NewPasswordRefused(
                "it holds a TAB, which PASSWD cannot carry"
            ))
        );
        let missing = AuthpipeBackend::new("/nonexistent/authProg", Vec::new());
        assert!(missing.lookup("imap", "ann").unwrap_err().is_temporary());
        assert!(crate::enumerate::collect(&missing)
            .unwrap_err()
            .is_temporary());
    }

    #[test]
    fn enumerate_streams_the_list_and_stays_in_step() {
        let pipe = AuthpipeBackend::new("/bin/sh", vec!["-c".into(), PROGRAM.into()])
            .timeout(Duration::from_millis(2000));
        let got: Vec<_> = crate::enumerate::collect(&pipe)
            .unwrap()
            .into_iter()
            .map(|a| (a.login, a.uid, a.maildir, a.options.as_str().to_owned()))
            .collect();
        assert_eq!(
            got,
            [
                ("ann".to_owned(), 1, None, "x=1".to_owned()),
                (
                    "bob".to_owned(),
                    3,
                    Some(PathBuf::from("/m")),
                    String::new()
                ),
            ]
        );
        // Stopped after one account: the rest is read, the next request
        // gets its own answer.
        let mut n = 0;
        pipe.enumerate(&mut |_| {
            n += 1;
            std::ops::ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(n, 1);
        assert!(pipe.lookup("imap", "ann").unwrap().is_some());
        // A program that knows no ENUMERATE answers FAIL: not a list.
        let dumb = AuthpipeBackend::new(
            "/bin/sh",
            vec!["-c".into(), "read l; printf 'FAIL\\n'; sleep 1".into()],
        );
        assert!(crate::enumerate::collect(&dumb).is_err());
    }
}
