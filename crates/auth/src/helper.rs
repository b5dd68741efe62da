//! The server side of the authdaemond protocol: answers requests on a
//! Unix socket from an [`Authenticator`].
//!
//! # Why (the helper process design)
//!
//! PAM and `/etc/shadow` need root, and PAM modules block and may not be
//! thread-safe. DESIGN.md wants the serving process to drop every
//! privilege. So `courser serve`, while still root, starts
//! `courser auth-helper` — the same binary — once per such backend; the
//! helper keeps root, binds a Unix socket in a directory only the
//! serving user can reach, and answers Courier's authdaemond requests
//! (spec §3) with [`serve`]. The serving process reaches it through the
//! ordinary [`crate::authdaemond::AuthdaemondBackend`] client, so there is
//! one protocol, already specified, with one client and one server, and a
//! site's real authdaemond is a drop-in alternative.
//!
//! * One request per connection, as in authdaemond; each connection is
//!   served on its own thread, at most [`MAX_CONCURRENT`] at a time
//!   (further clients wait in the listen backlog).
//! * Replies never carry passwords (`PASSWD`/`PASSWD2`): the client is
//!   less privileged than the helper.
//! * A temporary failure closes the connection without a reply, which
//!   the client reports as [`crate::AuthError::Unavailable`], as Courier
//!   does.
//! * The helper exits when its standard input reaches end of file: the
//!   server holds the other end of that pipe, so the helper dies with it.

use std::io::{BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::authenticator::Authenticator;
use crate::backend::Entry;
use crate::wire::{self, Request};

/// Connections served at once.
pub const MAX_CONCURRENT: usize = 16;

/// Serves connections on `listener` until it fails. Blocking.
pub fn serve(listener: UnixListener, auth: Arc<Authenticator>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("auth helper: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        while active.load(Ordering::Acquire) >= MAX_CONCURRENT {
            std::thread::sleep(Duration::from_millis(5));
        }
        active.fetch_add(1, Ordering::AcqRel);
        let auth = Arc::clone(&auth);
        let active = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .name("auth-helper".into())
            .spawn(move || {
                handle(stream, &auth);
                active.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            tracing::error!("auth helper: cannot start a thread: {e}");
        }
    }
}

/// Answers one request on one connection.
pub fn handle(mut stream: UnixStream, auth: &Authenticator) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let request = match wire::read_request(&mut BufReader::new(&mut stream)) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!("auth helper: bad request: {e}");
            return;
        }
    };
    let result = match &request {
        Request::Pre { service, login } => auth.lookup(service, login).map(Entry::new),
        Request::Login {
            service,
            login,
            password,
        } => auth.authenticate(service, login, password).map(Entry::new),
        Request::Cram { service, cram } => auth.authenticate_cram(service, cram).map(Entry::new),
    };
    let reply = match result {
        Ok(entry) => wire::encode_entry(&entry, false),
        Err(e) if !e.is_temporary() => b"FAIL\n".to_vec(),
        Err(e) => {
            tracing::warn!(?request, "auth helper: {e}");
            return; // no reply = temporary failure
        }
    };
    let _ = stream.write_all(&reply);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authdaemond::AuthdaemondBackend;
    use crate::backend::{Backend, Verdict};
    use crate::passwd::PasswdBackend;

    #[test]
    fn helper_and_client_speak_the_same_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        // {MD5RAW} of "one".
        std::fs::write(
            &passwd,
            "ann:{MD5RAW}f97c5d29941bfb1b2fdab0874906ab82:1000:100:Ann:/home/ann:/bin/sh\n",
        )
        .unwrap();
        let socket = dir.path().join("socket");
        let listener = UnixListener::bind(&socket).unwrap();
        let auth = Arc::new(Authenticator::new().with_backend(PasswdBackend::new(&passwd, None)));
        std::thread::spawn(move || serve(listener, auth));
        let client = AuthdaemondBackend::new(&socket).passwd_file(&passwd);
        match client.authenticate("imap", "ann", b"one").unwrap() {
            Verdict::Accepted(a) => {
                assert_eq!((a.login.as_str(), a.uid, a.gid), ("ann", 1000, 100));
                assert_eq!(a.full_name.as_deref(), Some("Ann"));
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(
            client.authenticate("imap", "ann", b"two").unwrap(),
            Verdict::Unknown
        );
        let e = client.lookup("imap", "ann").unwrap().unwrap();
        assert_eq!(e.password, None, "the helper never sends secrets");
        assert_eq!(client.lookup("imap", "bob").unwrap(), None);
        // Backend down: the helper closes without a reply.
        std::fs::remove_file(&passwd).unwrap();
        assert!(client
            .authenticate("imap", "ann", b"one")
            .unwrap_err()
            .is_temporary());
        // No daemon at all.
        let none = AuthdaemondBackend::new(dir.path().join("nothing"));
        assert!(none.lookup("imap", "ann").unwrap_err().is_temporary());
    }
}
