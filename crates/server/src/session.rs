//! The sans-IO sessions as the connection driver sees them: what it asks
//! of either protocol's session ([`ProtocolSession`], implemented here for
//! IMAP's and POP3's), what a session asks of the driver in turn
//! ([`Step`]), and running a session's blocking work off the executor.

use std::vec::Drain;

use courser_auth::sasl::{Credentials, Relay, RelayAnswer};
use courser_protocol::Finished;

/// What a session asks of its driver after taking input: each protocol's
/// `Action`, in the driver's terms.
pub(crate) enum Step {
    /// Read more input.
    Continue,
    /// The session is over.
    Close,
    /// Start TLS on the connection.
    StartTls,
    /// Verify credentials; `tag` is IMAP's login command tag.
    Login {
        /// IMAP: the LOGIN or AUTHENTICATE tag.
        tag: Option<String>,
        /// What the client proved.
        credentials: Credentials,
    },
    /// SCRAM: relay a client message to the authentication process.
    Relay(Relay),
    /// IMAP IDLE: report changes until the client speaks.
    Idle,
}

impl From<courser_imap::session::Action> for Step {
    fn from(action: courser_imap::session::Action) -> Step {
        use courser_imap::session::Action;
        match action {
            Action::Continue => Step::Continue,
            Action::Close => Step::Close,
            Action::StartTls => Step::StartTls,
            Action::Login { tag, credentials } => Step::Login {
                tag: Some(tag),
                credentials,
            },
            Action::Relay(relay) => Step::Relay(relay),
            Action::Idle => Step::Idle,
        }
    }
}

impl From<courser_pop3::session::Action> for Step {
    fn from(action: courser_pop3::session::Action) -> Step {
        use courser_pop3::session::Action;
        match action {
            Action::Continue => Step::Continue,
            Action::Close => Step::Close,
            Action::StartTls => Step::StartTls,
            Action::Login { credentials } => Step::Login {
                tag: None,
                credentials,
            },
            Action::Relay(relay) => Step::Relay(relay),
        }
    }
}

/// What the driver asks of either protocol's session: the methods both
/// sessions have, under one name.
pub(crate) trait ProtocolSession: Send + Sized + 'static {
    /// A session that serves nobody: what stands in the connection's place
    /// while its own session works on a blocking thread.
    fn vacant() -> Self;
    /// TLS started in-band: the session starts over (RFC 3501 §6.2.1,
    /// RFC 2595 §4).
    fn tls_started(&mut self);
    /// The account the client certificate names, if any (SASL EXTERNAL).
    fn set_tls_client_identity(&mut self, identity: Option<String>);
    /// The greeting.
    fn greeting(&self, out: &mut Vec<u8>);
    /// Feeds input to the session, answers into `out`.
    fn receive(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Step;
    /// Logged in (the store is open, work blocks).
    fn is_authenticated(&self) -> bool;
    /// The session has ended (logged out, or closed).
    fn is_over(&self) -> bool;
    /// More output to produce without new input.
    fn has_pending_output(&self) -> bool;
    /// The commands finished since the last call, for the metrics.
    fn finished_commands(&mut self) -> Drain<'_, Finished>;
    /// Answers a relayed SCRAM message with what the authentication
    /// process said; a challenge continues the exchange, its end asks
    /// for the verdict.
    fn relay_answer(&mut self, answer: RelayAnswer, out: &mut Vec<u8>) -> Step;
    /// A login failed (`temporary`: a backend could not answer).
    fn login_failed(&mut self, temporary: bool, out: &mut Vec<u8>);
    /// Gives back buffer memory the session holds beyond what an idle
    /// connection needs.
    fn shrink_buffers(&mut self) {}
}

macro_rules! protocol_session {
    ($session:ty, vacant: $vacant:expr, is_over: $is_over:ident $(, $extra:ident)*) => {
        impl ProtocolSession for $session {
            fn vacant() -> Self {
                $vacant
            }
            fn tls_started(&mut self) {
                <$session>::tls_started(self)
            }
            fn set_tls_client_identity(&mut self, identity: Option<String>) {
                <$session>::set_tls_client_identity(self, identity)
            }
            fn greeting(&self, out: &mut Vec<u8>) {
                <$session>::greeting(self, out)
            }
            fn receive(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Step {
                <$session>::receive(self, input, out).into()
            }
            fn is_authenticated(&self) -> bool {
                <$session>::is_authenticated(self)
            }
            fn is_over(&self) -> bool {
                <$session>::$is_over(self)
            }
            fn has_pending_output(&self) -> bool {
                <$session>::has_pending_output(self)
            }
            fn finished_commands(&mut self) -> Drain<'_, Finished> {
                <$session>::finished_commands(self)
            }
            fn relay_answer(&mut self, answer: RelayAnswer, out: &mut Vec<u8>) -> Step {
                <$session>::relay_answer(self, answer, out).into()
            }
            fn login_failed(&mut self, temporary: bool, out: &mut Vec<u8>) {
                <$session>::login_failed(self, temporary, out)
            }
            $(
                fn $extra(&mut self) {
                    <$session>::$extra(self)
                }
            )*
        }
    };
}
protocol_session!(
    courser_imap::session::Session,
    vacant: courser_imap::session::Session::new(courser_imap::session::SessionConfig {
        tls_active: false,
        starttls_available: false,
        login_requires_tls: false,
        hostname: String::new(),
        limits: Default::default(),
    }),
    is_over: is_logged_out,
    shrink_buffers
);
protocol_session!(
    courser_pop3::session::Session,
    vacant: courser_pop3::session::Session::new(courser_pop3::session::SessionConfig {
        tls_active: false,
        stls_available: false,
        login_requires_tls: false,
        hostname: String::new(),
        limits: Default::default(),
    }),
    is_over: is_closed
);

/// Runs `work` on the session on a blocking thread: a logged-in session's
/// commands read and write message files and wait for folder locks (up to
/// Courier's lock timeout), which must not stall the async executor's
/// threads and the other connections they serve. `None` when `work`
/// panicked: the session is gone and the connection must end.
pub(crate) async fn off_executor<P: ProtocolSession, R: Send + 'static>(
    session: &mut P,
    work: impl FnOnce(&mut P) -> R + Send + 'static,
) -> Option<R> {
    let mut owned = std::mem::replace(session, P::vacant());
    let (owned, result) = tokio::task::spawn_blocking(move || {
        let result = work(&mut owned);
        (owned, result)
    })
    .await
    .map_err(|e| tracing::error!("a session's command failed: {e}"))
    .ok()?;
    *session = owned;
    Some(result)
}
