//! The Outbox's mailer (`[maildir] sendmail`): the configured command, run
//! as Courier runs its `SENDMAIL` for the Outbox — the words of the
//! command, then `-f <sender>`, no shell in between — with the message
//! on standard input: a `<sender_header>: <sender>` line first, then the
//! message with local line ends (every CR dropped, a final LF added, as
//! Courier stores an APPENDed message before it mails it). It succeeds
//! when the command read the whole message and exited with status 0;
//! whatever it printed (standard output and error, merged) is logged.
//!
//! The wait is bounded: a command that has not finished in time is
//! killed, with what it started, and the message counts as not sent. Standard input is written
//! and the output read in one poll loop, so a command that prints a lot
//! before it reads, or reads nothing, cannot deadlock the session.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use courser_imap::mailstore::{StoreError, StoreResult};
use courser_imap::outbox::{Envelope, Sendmail};
use courser_protocol::Untrusted;
use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// How much of the command's output is kept for the log (Courier: 512).
const OUTPUT_KEPT: usize = 512;
/// Bytes of the message read and written at a time.
const CHUNK: usize = 64 * 1024;
/// Longest a poll waits before the loop checks the clock and the child.
const TICK: Duration = Duration::from_millis(100);

/// Characters that mean something to a shell: a command holding one is
/// refused rather than run differently from what it seems to say.
const SHELL_SPECIALS: &str = "\"'\\$`;|&<>(){}[]*?~#!";

/// The words of a sendmail command line, split at white space as a shell
/// splits plain words; quotes, `$`, `;`, globs and other shell syntax are
/// refused (nothing would interpret them).
pub fn split_command(command: &str) -> Result<Vec<String>, String> {
    if let Some(c) = command.chars().find(|&c| SHELL_SPECIALS.contains(c)) {
        return Err(format!(
            "the sendmail command is run without a shell: {c:?} is not allowed \
             (plain words separated by spaces)"
        ));
    }
    let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    if words.is_empty() {
        return Err("the sendmail command is empty".into());
    }
    Ok(words)
}

/// Whether `name` can be a header field name (RFC 5322 §3.6.8: printable
/// ASCII but `:`), or is empty (no header).
pub fn valid_header_name(name: &str) -> bool {
    name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// The configured command that mails Outbox messages.
#[derive(Debug, Clone)]
pub struct SendmailCommand {
    words: Vec<String>,
    /// The header naming the sender in the mailed copy (Courier's
    /// `HEADERFROM`); empty: none.
    header: String,
    timeout: Duration,
}

impl SendmailCommand {
    /// `command` (see [`split_command`]), adding a `header` line naming
    /// the sender (empty: none), killed after `timeout`.
    pub fn new(command: &str, header: &str, timeout: Duration) -> Result<Self, String> {
        if !valid_header_name(header) {
            return Err(format!("{header:?} is not a header field name"));
        }
        Ok(SendmailCommand {
            words: split_command(command)?,
            header: header.to_owned(),
            timeout,
        })
    }

    /// The command's arguments for `sender`: its own words, then
    /// `-f sender` when there is one (Courier's order).
    pub fn argv<'a>(&'a self, sender: &'a str) -> Vec<&'a str> {
        let mut argv: Vec<&str> = self.words.iter().map(String::as_str).collect();
        if !sender.is_empty() {
            argv.extend(["-f", sender]);
        }
        argv
    }

    /// What goes before the message: the sender header line, when there
    /// is a header name and a sender.
    pub fn preamble(&self, sender: &str) -> Vec<u8> {
        if self.header.is_empty() || sender.is_empty() {
            return Vec::new();
        }
        format!("{}: {sender}\n", self.header).into_bytes()
    }

    /// The command for SMAP's ADD: the configured program (without its
    /// options, which are the Outbox's: `-t` would add the recipients the
    /// header names), `-oi`, `-f` and `-N` from `envelope`, then the
    /// recipients. Words that would read as options or break the
    /// command line are refused.
    pub fn argv_to<'a>(&'a self, envelope: &Envelope<'a>) -> Result<Vec<&'a str>, String> {
        let bad = |a: &str| {
            a.is_empty() || a.starts_with('-') || a.chars().any(|c| c.is_control() || c == ' ')
        };
        if envelope.recipients.is_empty() {
            return Err("no recipient".into());
        }
        if let Some(r) = envelope.recipients.iter().find(|r| bad(r)) {
            return Err(format!("{r:?} is not a mail address"));
        }
        let mut argv = vec![self.words[0].as_str(), "-oi"];
        if !envelope.from.is_empty() {
            if bad(envelope.from) {
                return Err(format!("{:?} is not a mail address", envelope.from));
            }
            argv.extend(["-f", envelope.from]);
        }
        if let Some(notify) = envelope.notify {
            if bad(notify) {
                return Err(format!("{notify:?} is not a list of DSN options"));
            }
            argv.extend(["-N", notify]);
        }
        argv.extend(envelope.recipients.iter().map(String::as_str));
        Ok(argv)
    }

    /// Runs `argv` with `preamble` and then `message` on its input; `Err`
    /// says why it failed, for the log.
    fn run(
        &self,
        argv: &[&str],
        preamble: Vec<u8>,
        message: &mut dyn Read,
    ) -> Result<Outcome, String> {
        let program = argv[0];
        let (output, output_w) = io::pipe().map_err(|e| format!("pipe: {e}"))?;
        let errors_w = output_w.try_clone().map_err(|e| format!("pipe: {e}"))?;
        let mut command = Command::new(program);
        command
            .args(&argv[1..])
            // Its own process group: what it starts is killed with it.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(output_w)
            .stderr(errors_w);
        let spawned = command.spawn();
        // Only the child holds the output's write end now: its exit (and
        // its children's) ends the output.
        drop(command);
        let mut child = spawned.map_err(|e| format!("cannot run {program}: {e}"))?;
        let stdin = child.stdin.take();
        let mut input = Input {
            stdin,
            message: LocalLines::new(preamble, message),
            pending: Vec::new(),
            at: 0,
            failed: None,
        };
        let mut seen = Output::new(output);
        let deadline = Instant::now() + self.timeout;
        let result = pump(&mut child, &mut input, &mut seen, deadline);
        let said = seen.text();
        let status = match result {
            Ok(status) => status,
            Err(e) => {
                let group = rustix::process::Pid::from_child(&child);
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                let _ = child.wait();
                let e = match e.kind() {
                    io::ErrorKind::TimedOut => format!(
                        "{program} did not finish in time ({} s); killed",
                        self.timeout.as_secs_f32()
                    ),
                    _ => format!("{program}: {e}"),
                };
                return Err(format!("{e}{}", said_suffix(&said)));
            }
        };
        let problem = if let Some(code) = status.code().filter(|&c| c != 0) {
            Some(format!("{program} exited with status {code}"))
        } else if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
            Some(format!("{program} was killed by signal {signal}"))
        } else {
            input
                .failed
                .map(|e| format!("{program} did not read the whole message: {e}"))
        };
        match problem {
            Some(p) => Err(format!("{p}{}", said_suffix(&said))),
            None => Ok(Outcome { said }),
        }
    }
}

/// `: <output>` for an error message, when the command said anything.
fn said_suffix(said: &str) -> String {
    if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    }
}

/// A command that succeeded, and what it printed.
struct Outcome {
    said: String,
}

impl Sendmail for SendmailCommand {
    fn send(&self, sender: &str, message: &mut dyn Read) -> StoreResult<()> {
        // A line break would start a header of the sender's making.
        let sent = if sender.chars().any(char::is_control) {
            Err("the sender name holds a control character".into())
        } else {
            self.run(&self.argv(sender), self.preamble(sender), message)
        };
        logged(sender, "from the Outbox", sent)
    }

    fn send_to(&self, envelope: &Envelope<'_>, message: &mut dyn Read) -> StoreResult<()> {
        let sent = self
            .argv_to(envelope)
            .and_then(|argv| self.run(&argv, Vec::new(), message));
        logged(envelope.from, "for SMAP's ADD", sent)
    }
}

/// Logs how sending went (`what`: on whose behalf), and answers.
fn logged(sender: &str, what: &str, sent: Result<Outcome, String>) -> StoreResult<()> {
    match sent {
        Ok(outcome) => {
            tracing::info!(user = %Untrusted(sender), "sent a message {what}");
            if !outcome.said.is_empty() {
                tracing::info!(
                    user = %Untrusted(sender),
                    "sendmail said: {}",
                    Untrusted(&outcome.said)
                );
            }
            Ok(())
        }
        Err(why) => {
            tracing::error!(
                user = %Untrusted(sender),
                "error sending a message {what}: {}",
                Untrusted(&why)
            );
            Err(StoreError::NotSent(why))
        }
    }
}

/// The message as the command reads it: `preamble`, then the message
/// with every CR dropped and a LF at the end.
pub struct LocalLines<'a> {
    preamble: Vec<u8>,
    message: &'a mut dyn Read,
    /// The last octet given (the preamble's count: it ends with LF).
    last: Option<u8>,
    done: bool,
}

impl<'a> LocalLines<'a> {
    /// `preamble` (given as is) then `message`.
    pub fn new(preamble: Vec<u8>, message: &'a mut dyn Read) -> Self {
        LocalLines {
            preamble,
            message,
            last: None,
            done: false,
        }
    }

    /// The next piece (at most `CHUNK` octets read), empty at the end.
    pub fn next_chunk(&mut self) -> io::Result<Vec<u8>> {
        if !self.preamble.is_empty() {
            let p = std::mem::take(&mut self.preamble);
            self.last = p.last().copied();
            return Ok(p);
        }
        let mut buf = vec![0; CHUNK];
        loop {
            if self.done {
                return Ok(Vec::new());
            }
            let n = match self.message.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.done = true;
                // (the preamble's LF does not end an empty message)
                return Ok(match self.last {
                    Some(b'\n') | None => Vec::new(),
                    Some(_) => vec![b'\n'],
                });
            }
            buf.truncate(n);
            buf.retain(|&b| b != b'\r');
            if let Some(&b) = buf.last() {
                self.last = Some(b);
                return Ok(buf);
            }
            buf.resize(CHUNK, 0);
        }
    }
}

/// The command's standard input and what is still to be written to it.
struct Input<'a> {
    stdin: Option<ChildStdin>,
    message: LocalLines<'a>,
    pending: Vec<u8>,
    at: usize,
    /// Why writing stopped before the end.
    failed: Option<io::Error>,
}

impl Input<'_> {
    /// Writes what the pipe takes now; closes it at the end of the
    /// message or when the command stopped reading.
    fn write_some(&mut self) -> io::Result<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Ok(());
        };
        loop {
            if self.at == self.pending.len() {
                self.pending = self.message.next_chunk()?;
                self.at = 0;
                if self.pending.is_empty() {
                    self.stdin = None;
                    return Ok(());
                }
            }
            match stdin.write(&self.pending[self.at..]) {
                Ok(n) => self.at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = Some(e);
                    self.stdin = None;
                    return Ok(());
                }
            }
        }
    }
}

/// The command's merged output: its start is kept, the rest drained.
struct Output {
    pipe: Option<io::PipeReader>,
    kept: Vec<u8>,
}

impl Output {
    fn new(pipe: io::PipeReader) -> Self {
        Output {
            pipe: Some(pipe),
            kept: Vec::new(),
        }
    }

    /// Reads what is there now; notes the end.
    fn read_some(&mut self) -> io::Result<()> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Ok(());
        };
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => {
                    self.pipe = None;
                    return Ok(());
                }
                Ok(n) => {
                    let room = OUTPUT_KEPT.saturating_sub(self.kept.len());
                    self.kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// What was kept, as one line of text.
    fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.kept);
        let words: Vec<&str> = text.split_whitespace().collect();
        words.join(" ")
    }
}

/// Feeds the input and drains the output until the command has exited
/// with its input written (or refused); past `deadline`, an error (the
/// caller kills it).
fn pump(
    child: &mut Child,
    input: &mut Input<'_>,
    output: &mut Output,
    deadline: Instant,
) -> io::Result<ExitStatus> {
    if let Some(stdin) = &input.stdin {
        rustix::io::ioctl_fionbio(stdin, true)?;
    }
    if let Some(pipe) = &output.pipe {
        rustix::io::ioctl_fionbio(pipe, true)?;
    }
    input.write_some()?;
    loop {
        output.read_some()?;
        if input.stdin.is_none() {
            if let Some(status) = child.try_wait()? {
                // What it printed last; not what programs it left
                // running may print later (they may hold the pipe).
                output.read_some()?;
                return Ok(status);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let wait = (deadline - now).min(TICK);
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        let stdin = input.stdin.as_ref().map(AsFd::as_fd);
        let pipe = output.pipe.as_ref().map(AsFd::as_fd);
        let mut fds = Vec::with_capacity(2);
        if let Some(fd) = &stdin {
            fds.push(PollFd::new(fd, PollFlags::OUT));
        }
        if let Some(fd) = &pipe {
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        drop(fds);
        input.write_some()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn commands_split_into_plain_words_only() {
        assert_eq!(
            split_command("  /usr/sbin/sendmail   -oi -t ").unwrap(),
            ["/usr/sbin/sendmail", "-oi", "-t"]
        );
        assert_eq!(
            split_command("sendmail -O DeliveryMode=b -oem").unwrap(),
            ["sendmail", "-O", "DeliveryMode=b", "-oem"]
        );
        for bad in [
            "",
            "   ",
            "sendmail -f '$USER'",
            "sendmail; rm -rf /",
            "sendmail `id`",
            "sendmail | tee x",
            "sendmail > /tmp/x",
            "\"/opt/my sendmail\" -t",
            "send\\ mail",
        ] {
            assert!(split_command(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arguments_and_sender_header_as_courier_makes_them() {
        let c = SendmailCommand::new("/usr/sbin/sendmail -oi -t", "X-IMAP-Sender", TICK).unwrap();
        assert_eq!(
            c.argv("alice@example.org"),
            ["/usr/sbin/sendmail", "-oi", "-t", "-f", "alice@example.org"]
        );
        // A sender that looks like an option is still -f's argument.
        assert_eq!(c.argv("-bs")[3..], ["-f", "-bs"]);
        assert_eq!(c.argv(""), ["/usr/sbin/sendmail", "-oi", "-t"]);
        assert_eq!(c.preamble("alice"), b"X-IMAP-Sender: alice\n");
        assert_eq!(c.preamble(""), b"");
        let quiet = SendmailCommand::new("sendmail", "", TICK).unwrap();
        assert_eq!(quiet.preamble("alice"), b"");
        for bad in ["X IMAP", "X:Sender", "Sender\n"] {
            assert!(
                SendmailCommand::new("sendmail", bad, TICK).is_err(),
                "{bad:?}"
            );
        }
    }

    fn mailed(preamble: &[u8], message: &[u8]) -> Vec<u8> {
        let mut reader = message;
        let mut lines = LocalLines::new(preamble.to_vec(), &mut reader);
        let mut all = Vec::new();
        loop {
            let chunk = lines.next_chunk().unwrap();
            if chunk.is_empty() {
                return all;
            }
            all.extend_from_slice(&chunk);
        }
    }

    #[test]
    fn the_mailed_copy_has_local_line_ends_and_the_header_first() {
        assert_eq!(
            mailed(b"X-S: a\n", b"To: b\r\n\r\nbody\r\nend"),
            b"X-S: a\nTo: b\n\nbody\nend\n"
        );
        assert_eq!(mailed(b"", b"To: b\n\nbody\n"), b"To: b\n\nbody\n");
        assert_eq!(mailed(b"X-S: a\n", b""), b"X-S: a\n");
        assert_eq!(mailed(b"", b"\r\r\r"), b"");
        // A CRLF split between two reads.
        let mut big = vec![b'x'; CHUNK - 1];
        big.extend_from_slice(b"\r\nlast\r\n");
        let mut want = vec![b'x'; CHUNK - 1];
        want.extend_from_slice(b"\nlast\n");
        assert_eq!(mailed(b"", &big), want);
    }

    /// A sendmail that records its arguments and input in `dir` and
    /// runs `then` (shell code) after reading.
    fn fake(dir: &Path, then: &str) -> String {
        let script = dir.join("sendmail");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > {d}/argv\ncat > {d}/stdin\n{then}\n",
                d = dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        format!("{} -oi -t", script.display())
    }

    fn send(command: &str, sender: &str, message: &[u8], timeout: Duration) -> StoreResult<()> {
        let c = SendmailCommand::new(command, "X-IMAP-Sender", timeout).unwrap();
        c.send(sender, &mut &message[..])
    }

    #[test]
    fn a_message_is_handed_over_with_argv_and_header() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = fake(dir.path(), "echo queued >&2");
        send(&cmd, "al ice", b"To: b\r\n\r\nhi\r\n", TICK * 50).unwrap();
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        assert_eq!(argv, "-oi\n-t\n-f\nal ice\n");
        let input = std::fs::read(dir.path().join("stdin")).unwrap();
        assert_eq!(input, b"X-IMAP-Sender: al ice\nTo: b\n\nhi\n");
    }

    fn not_sent(r: StoreResult<()>) -> String {
        match r {
            Err(StoreError::NotSent(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failures_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let t = TICK * 50;
        let cmd = fake(dir.path(), "echo 'No recipients' >&2; exit 75");
        let why = not_sent(send(&cmd, "a", b"x\n", t));
        assert!(
            why.ends_with("exited with status 75: No recipients"),
            "{why}"
        );
        let why = not_sent(send(&fake(dir.path(), "kill -9 $$"), "a", b"x\n", t));
        assert!(why.ends_with("was killed by signal 9"), "{why}");
        let missing = dir.path().join("nope");
        let why = not_sent(send(&missing.display().to_string(), "a", b"x\n", t));
        assert!(why.starts_with("cannot run "), "{why}");
        let why = not_sent(send(&fake(dir.path(), ""), "a\nBcc: x", b"x\n", t));
        assert!(why.contains("control character"), "{why}");
        // Exits at once without reading a big message.
        let big = vec![b'x'; 4 << 20];
        let why = not_sent(send("/bin/true", "a", &big, t));
        assert!(why.contains("did not read the whole message"), "{why}");
    }

    #[test]
    fn a_hung_command_is_killed_in_time() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let cmd = fake(dir.path(), "sleep 30");
        let why = not_sent(send(&cmd, "a", b"x\n", Duration::from_millis(500)));
        assert!(why.contains("did not finish in time"), "{why}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // One that reads nothing while its input pipe is full.
        let script = dir.path().join("stuck");
        std::fs::write(&script, "#!/bin/sh\nsleep 30\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let big = vec![b'x'; 4 << 20];
        let started = Instant::now();
        let c = SendmailCommand::new(&script.display().to_string(), "", TICK * 5).unwrap();
        let why = not_sent(c.send("a", &mut &big[..]));
        assert!(why.contains("did not finish in time"), "{why}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn big_messages_and_chatty_commands_do_not_deadlock() {
        let dir = tempfile::tempdir().unwrap();
        // 300 KB of output before it reads anything, then 8 MB in.
        let cmd = fake(dir.path(), "");
        let chatty = dir.path().join("chatty");
        std::fs::write(
            &chatty,
            format!("#!/bin/sh\nhead -c 300000 /dev/zero | tr '\\0' x >&2\nexec {cmd}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&chatty, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut big = Vec::new();
        while big.len() < 8 << 20 {
            big.extend_from_slice(b"a line of the message\r\n");
        }
        send(&chatty.display().to_string(), "a", &big, TICK * 300).unwrap();
        let got = std::fs::read(dir.path().join("stdin")).unwrap();
        assert_eq!(got.len(), "X-IMAP-Sender: a\n".len() + big.len() / 23 * 22);
    }
}
