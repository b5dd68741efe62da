//! The IMAP session state machine (RFC 3501 §3): bytes in, bytes out.
//!
//! A [`Session`] owns the [`Decoder`] and the state (not authenticated,
//! authenticated, selected, logout). The server feeds it what it read with
//! [`Session::receive`]; the session appends responses to an output buffer
//! and returns an [`Action`] when the server has to do something only it can
//! do: check credentials, start TLS, wait in IDLE, or close. Store calls are
//! synchronous: the server runs `receive` where blocking is allowed.
//!
//! One command family per file, named as in `codec/parse` and
//! `codec/respond`.
//!
//! For metrics the session times its commands: after each call the server
//! drains [`Session::finished_commands`], one [`Finished`] per command with
//! the time the session spent on it.

mod acl;
mod append;
mod auth;
mod capability;
mod charset;
mod copy;
mod courier_acl;
pub mod dialect;
mod expunge;
mod fetch;
mod idle;
mod list;
mod mailbox;
mod message;
mod quota;
mod reply;
mod search;
mod select;
mod sort;
mod status;
mod store;
mod view;

use std::time::Instant;

pub use courser_protocol::Finished;
use courser_protocol::{Backpressure, CommandClock, Untrusted};

use courser_auth::sasl::{Credentials, Mechanism, Relay};

use crate::codec::parse::SMAP_TAG;
use crate::codec::respond::{self, Code, NamespaceDesc, Status};
use crate::codec::types::AclTarget;
use crate::codec::{AppendStart, Command, Decoder, Event, Limits, Tag};
use crate::mailstore::{Gate, MailFolder, MailStore, Rights, StoreResult};
use crate::outbox::Outbox;
pub use capability::Capabilities;
use reply::Reply;
pub use search::search_messages;
pub use sort::remembered::OrderCache;
use view::View;

/// What the server has to do after [`Session::receive`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing special: send the output and read more.
    Continue,
    /// Check these credentials, then call [`Session::login_succeeded`] or
    /// [`Session::login_failed`].
    Login {
        /// Tag of the LOGIN or AUTHENTICATE command.
        tag: Tag,
        /// What the client proved itself with.
        credentials: Credentials,
    },
    /// SCRAM: pass the client's message to the process that runs the
    /// exchange, then call [`Session::relay_answer`] with its answer — or
    /// [`Session::login_failed`] when it refused or could not answer.
    Relay(Relay),
    /// Send the output, then start TLS on the connection, discarding any
    /// bytes the client sent after STARTTLS (they were not protected), then
    /// call [`Session::tls_started`].
    StartTls,
    /// The client is in IDLE: send the output, then wait for client input
    /// or a change in the folder and call [`Session::idle_changed`].
    Idle,
    /// Send the output and close the connection.
    Close,
}

/// Facts about the connection the session cannot know by itself.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The connection is already inside TLS.
    pub tls_active: bool,
    /// STARTTLS can be offered (TLS is configured and not yet active).
    pub starttls_available: bool,
    /// Refuse LOGIN/AUTHENTICATE until TLS (RFC 3501 §6.2.3 LOGINDISABLED).
    pub login_requires_tls: bool,
    /// Host name for the greeting.
    pub hostname: String,
    /// Codec limits.
    pub limits: Limits,
}

/// Where the session is in RFC 3501 §3's state diagram.
enum State {
    NotAuthenticated,
    Authenticated,
    Selected(Box<Selected>),
    Logout,
}

/// The selected folder and the client's view of it.
pub(crate) struct Selected {
    folder: Box<dyn MailFolder>,
    view: View,
    /// The user's rights on the folder, read again before each command
    /// ([`Session::reread_rights`]).
    rights: Rights,
    /// [`MailFolder::acl_version`] when `rights` were read.
    acl_version: Option<u128>,
}

/// One IMAP connection's protocol state.
pub struct Session {
    config: SessionConfig,
    decoder: Decoder,
    state: State,
    store: Option<Box<dyn MailStore>>,
    user: Option<String>,
    /// Tag of a command waiting for the server (login, IDLE) or for more
    /// client data (AUTHENTICATE).
    pending: Option<Pending>,
    utf8_enabled: bool,
    /// SASL mechanisms the configured backends can serve.
    mechanisms: Vec<Mechanism>,
    /// The account the connection's verified TLS client certificate names
    /// (EXTERNAL is offered only with one).
    tls_identity: Option<String>,
    /// The command being worked on, with the time spent so far.
    clock: CommandClock,
    /// Stops new commands while the output is full.
    backpressure: Backpressure,
    /// SORT and THREAD offered.
    sort_thread: bool,
    /// ACL and ACL2=UNION advertised (Courier's `IMAP_ACL`; the rights
    /// are enforced either way).
    acl: bool,
    /// EXPUNGE moves into this folder (Courier's magic trash).
    magic_trash: Option<String>,
    /// Messages put into this folder are mailed (Courier's Outbox).
    outbox: Option<Outbox>,
    /// SORT orders and THREAD forests shared by the process's sessions.
    orders: Option<OrderCache>,
    /// SMAP1 offered: what a `\SMAP1` login turns into.
    smap: Option<dialect::Starter>,
    /// After a `\SMAP1` login: the SMAP session, which gets all input.
    dialect: Option<Box<dyn dialect::Dialect>>,
    /// Message bytes FETCH has sent, for the LOGOUT line.
    sent: Transferred,
    /// The ID fields the client sent before logging in (names in lower
    /// case): a proxy in front names the real client there.
    client_id: Vec<(String, String)>,
}

/// Message bytes FETCH sent, as Courier counts them for its LOGOUT line
/// (`headers=`, `body=`): the message as stored, without the CR of each
/// CRLF line end; of the header sections Courier filters field by field
/// (HEADER.FIELDS, HEADER.FIELDS.NOT, MIME), the fields' text without
/// line ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transferred {
    /// RFC822.HEADER, BODY[HEADER.FIELDS], BODY[HEADER.FIELDS.NOT] and
    /// BODY[...MIME].
    pub headers: u64,
    /// Every other message section (RFC822, RFC822.TEXT, BODY[],
    /// `BODY[TEXT]`, `BODY[HEADER]` and the parts), partial fetches counted
    /// by what was sent.
    pub body: u64,
}

enum Pending {
    Auth(auth::SaslState),
    /// An AUTHENTICATE exchange waits for the answer to a relayed message.
    Relay(auth::SaslState),
    Fetch(fetch::FetchJob),
    Login(Tag),
    Idle(Tag),
    /// An APPEND message is being received.
    Append(append::AppendJob),
}

impl Session {
    /// A session in the not-authenticated state.
    pub fn new(config: SessionConfig) -> Session {
        Session {
            decoder: Decoder::new(config.limits),
            config,
            state: State::NotAuthenticated,
            store: None,
            user: None,
            pending: None,
            utf8_enabled: false,
            mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            tls_identity: None,
            clock: CommandClock::default(),
            backpressure: Backpressure::default(),
            sort_thread: true,
            acl: true,
            magic_trash: None,
            outbox: None,
            orders: None,
            smap: None,
            dialect: None,
            sent: Transferred::default(),
            client_id: Vec::new(),
        }
    }

    /// Offers SMAP1 (Courier's `SMAP_CAPABILITY`): advertised beside the
    /// IMAP capabilities, `\SMAP1`-tagged pre-login commands answered
    /// `+OK`/`-ERR`, and a `\SMAP1` login continued by `start`'s session.
    /// `None` (the default): no SMAP.
    pub fn offer_smap(&mut self, start: Option<dialect::Starter>) {
        self.smap = start;
    }

    /// Advertises ACL and ACL2=UNION (the default) or not: Courier's
    /// `IMAP_ACL`. The ACL commands work and rights are enforced either
    /// way.
    pub fn offer_acl(&mut self, offer: bool) {
        self.acl = offer;
    }

    /// Remembers SORT orders and THREAD forests of big folders in `cache`
    /// (shared by the process's sessions), and answers from it.
    pub fn remember_orders_in(&mut self, cache: Option<OrderCache>) {
        self.orders = cache;
    }

    /// Offers SORT and THREAD (the default) or not: Courier's
    /// `IMAP_DISABLETHREADSORT`, for small machines.
    pub fn offer_sort_thread(&mut self, offer: bool) {
        self.sort_thread = offer;
    }

    /// Makes EXPUNGE move messages into `trash` (an IMAP folder name)
    /// instead of deleting them, except in the trash itself, and offers
    /// `XMAGICTRASH`: Courier's `IMAP_MOVE_EXPUNGE_TO_TRASH`. `None`
    /// (the default) deletes.
    pub fn move_expunged_to(&mut self, trash: Option<String>) {
        self.magic_trash = trash;
    }

    /// Mails what APPEND, COPY and MOVE put into the outbox folder, and
    /// offers `XCOURIEROUTBOX`: Courier's `OUTBOX`. `None` (the default):
    /// no folder is special.
    pub fn send_from_outbox(&mut self, outbox: Option<Outbox>) {
        self.outbox = outbox;
    }

    /// Runs `place`, which stores messages into folder `dest`, with a
    /// gate that mails each of them first when `dest` is the outbox.
    fn through_outbox<T>(
        &self,
        dest: &str,
        place: impl FnOnce(Option<Gate<'_>>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        match self.outbox.as_ref().filter(|o| o.is(dest)) {
            Some(outbox) => {
                let sender = self.user().unwrap_or_default();
                place(Some(&mut |message| outbox.send(sender, message)))
            }
            None => place(None),
        }
    }

    /// The SASL mechanisms the backends can serve
    /// (`Authenticator::mechanisms`), offered in CAPABILITY and accepted
    /// by AUTHENTICATE. Default: PLAIN and LOGIN.
    pub fn offer_mechanisms(&mut self, mechanisms: Vec<Mechanism>) {
        self.mechanisms = mechanisms;
    }

    /// The account named by the connection's verified TLS client
    /// certificate, after the handshake (implicit TLS or STARTTLS):
    /// AUTHENTICATE EXTERNAL is offered while there is one.
    pub fn set_tls_client_identity(&mut self, identity: Option<String>) {
        self.tls_identity = identity;
    }

    /// A session that starts authenticated as `user` (RFC 3501 §7.1.4
    /// PREAUTH), for `courser imapd` run over a tunnel.
    pub fn preauthenticated(
        config: SessionConfig,
        user: &str,
        store: Box<dyn MailStore>,
    ) -> Session {
        let mut session = Session::new(config);
        session.user = Some(user.to_owned());
        session.store = Some(store);
        session.state = State::Authenticated;
        session
    }

    /// A session that starts authenticated as `user` in another protocol
    /// (Courier's imapd run directly with `PROTOCOL=SMAP1`): its greeting
    /// is that protocol's answer to a login.
    pub fn preauthenticated_in(
        config: SessionConfig,
        user: &str,
        start: &dyn dialect::DialectStart,
        store: Box<dyn MailStore>,
    ) -> Session {
        let mut session = Session::new(config);
        session.user = Some(user.to_owned());
        session.dialect = Some(start.start(user, store));
        session.state = State::Authenticated;
        session
    }

    /// Writes the server greeting (RFC 3501 §7.1.1, §7.1.4).
    pub fn greeting(&self, out: &mut Vec<u8>) {
        if let Some(dialect) = &self.dialect {
            return dialect.greeting(out);
        }
        let caps = Code::Capability(self.capabilities().iter().map(|c| c.to_string()).collect());
        if self.is_authenticated() {
            respond::untagged(
                out,
                Status::PreAuth,
                Some(&caps),
                &format!("Courser ready, logged in as {}", self.user().unwrap_or("")),
            );
        } else {
            Reply::untagged_ok_code(
                out,
                caps,
                &format!("Courser IMAP4rev1 server ready on {}", self.config.hostname),
            );
        }
    }

    /// A command stopped because its output filled the buffer, or
    /// received commands wait for the output to be sent
    /// ([`courser_protocol::backpressure`]): send the output, then call
    /// [`Session::receive`] again before reading more.
    pub fn has_pending_output(&self) -> bool {
        matches!(self.pending, Some(Pending::Fetch(_))) || self.backpressure.is_held()
    }

    /// Gives back buffer memory a big command left behind; for a
    /// connection about to wait for its client.
    pub fn shrink_buffers(&mut self) {
        self.decoder.shrink();
    }

    /// Removes old mail as the rules say (Courier's `IMAP_EMPTYTRASH`,
    /// done at login and logout); a failure is logged, not answered.
    /// Blocks on the store: call it where blocking is allowed.
    pub fn expire_old_mail(&self, rules: &[crate::mailstore::ExpiryRule]) {
        let Some(store) = self.store_ref() else {
            return;
        };
        match store.expire_old(rules) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(user = %Untrusted(self.user().unwrap_or("-")), "expired {n} old messages")
            }
            Err(e) => tracing::warn!(
                user = %Untrusted(self.user().unwrap_or("-")),
                error = %Untrusted(&e.to_string()),
                "expiring old messages failed"
            ),
        }
    }

    /// A field of the ID the client sent before logging in (RFC 2971;
    /// `name` in lower case): what a proxy in front says of the real
    /// client (`x-originating-ip`, …). Believe it only from a trusted
    /// proxy.
    pub fn client_id_field(&self, name: &str) -> Option<&str> {
        self.client_id
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The message bytes FETCH has sent so far.
    pub fn transferred(&self) -> Transferred {
        match &self.dialect {
            Some(dialect) => dialect.transferred(),
            None => self.sent,
        }
    }

    /// Whether the session has logged out (the server closes after output).
    pub fn is_logged_out(&self) -> bool {
        matches!(self.state, State::Logout) || self.dialect.as_ref().is_some_and(|d| d.is_over())
    }

    /// Whether the client has logged in (for choosing the idle timeout).
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Authenticated | State::Selected(_))
    }

    /// Commands finished since the last call, oldest first. Drain after
    /// every call into the session (at most 4,096 are kept).
    pub fn finished_commands(&mut self) -> std::vec::Drain<'_, Finished> {
        self.clock.drain(self.pending.is_none())
    }

    /// Decodes and runs every complete command in `input` (consuming what it
    /// used), appending responses to `out`. Stops early when the server must
    /// act.
    pub fn receive(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Action {
        if let Some(dialect) = &mut self.dialect {
            return match dialect.receive(input, out) {
                dialect::DialectStep::Continue => Action::Continue,
                dialect::DialectStep::Idle => Action::Idle,
            };
        }
        if let Some(Pending::Fetch(_)) = self.pending {
            let started = Instant::now();
            if let Some(Pending::Fetch(job)) = self.pending.take() {
                self.resume_fetch(job, out);
            }
            self.clock.add(started, self.pending.is_none());
            if let Some(Pending::Fetch(_)) = self.pending {
                return Action::Continue;
            }
        }
        loop {
            // Checked first, so that it always describes the output now.
            if self.backpressure.full(out)
                || matches!(
                    self.pending,
                    Some(Pending::Login(_) | Pending::Relay(_) | Pending::Fetch(_))
                )
                || self.is_logged_out()
            {
                return Action::Continue;
            }
            let started = Instant::now();
            self.decoder.set_authenticated(self.is_authenticated());
            let event = self.decoder.decode(input);
            if self.pending.is_none() {
                match &event {
                    Event::Command { command, .. } => self
                        .clock
                        .begin(Some(command.name()), self.pending.is_none()),
                    Event::AppendStart(_) => {
                        self.clock.begin(Some("APPEND"), self.pending.is_none())
                    }
                    Event::Bad { .. } => self.clock.begin(None, self.pending.is_none()),
                    _ => {}
                }
            }
            let action = match event {
                Event::NeedMore => return Action::Continue,
                Event::Continue => {
                    Reply::continuation(out, "Ready for literal");
                    Action::Continue
                }
                Event::Bad { tag, text } => {
                    match (tag, &self.pending) {
                        (_, Some(Pending::Idle(_))) => self.idle_broken(&text, out),
                        (_, Some(Pending::Append(_))) => self.append_broken(&text, out),
                        (_, Some(Pending::Auth(_))) => self.auth_broken(&text, out),
                        (Some(tag), _) => Reply::bad(out, &tag, &text),
                        (None, _) => Reply::untagged_bad(out, &text),
                    }
                    Action::Continue
                }
                Event::AuthData(data) => self.auth_data(Some(data), out),
                Event::AuthCancel => self.auth_data(None, out),
                Event::IdleDone => self.idle_done(out),
                Event::AppendStart(start) => {
                    self.append_start(start, out);
                    Action::Continue
                }
                Event::AppendData(data) => {
                    self.append_data(&data);
                    Action::Continue
                }
                Event::AppendDone => {
                    self.append_done(out);
                    Action::Continue
                }
                Event::Bye { text } => {
                    Reply::untagged_bye(out, &text);
                    self.state = State::Logout;
                    Action::Close
                }
                Event::Command { tag, command } => self.command(tag, command, out),
            };
            self.clock.add(started, self.pending.is_none());
            if action != Action::Continue {
                return action;
            }
        }
    }

    fn command(&mut self, tag: Tag, command: Command, out: &mut Vec<u8>) -> Action {
        use Command as C;
        // An SMAP client's command where SMAP is not offered, or once
        // logged in over IMAP: Courier's imaplogin refuses it too.
        if tag == SMAP_TAG && (self.smap.is_none() || self.is_authenticated()) {
            Reply::bad(out, &tag, "SMAP1 is not offered here");
            return Action::Continue;
        }
        let name = command.name();
        if !matches!(command, C::Logout | C::Select { .. } | C::Examine { .. }) {
            // Rights changed since the last command apply to this one.
            self.reread_rights(out);
        }
        // Commands valid in every state (RFC 3501 §6.1).
        match command {
            C::Capability => {
                let caps = self.capabilities();
                respond::capability(out, &caps);
                self.finish_ok(&tag, "CAPABILITY completed", out);
                Action::Continue
            }
            C::Noop => {
                self.finish_ok(&tag, "NOOP completed", out);
                Action::Continue
            }
            C::Logout => {
                Reply::untagged_bye(out, "Courser IMAP server logging out");
                Reply::ok(out, &tag, "LOGOUT completed");
                self.state = State::Logout;
                Action::Close
            }
            C::Id { parameters } => {
                self.id(&tag, parameters, out);
                Action::Continue
            }
            command => match self.state {
                State::NotAuthenticated => self.not_authenticated(tag, command, out),
                State::Authenticated | State::Selected(_) => self.authenticated(tag, command, out),
                State::Logout => {
                    Reply::bad(out, &tag, &format!("{name} after LOGOUT"));
                    Action::Continue
                }
            },
        }
    }

    fn not_authenticated(&mut self, tag: Tag, command: Command, out: &mut Vec<u8>) -> Action {
        use Command as C;
        match command {
            C::StartTls => self.starttls(tag, out),
            C::Login { username, password } => self.login(tag, username, password, out),
            C::Authenticate {
                mechanism,
                initial_response,
            } => self.authenticate(tag, &mechanism, initial_response, out),
            other => {
                Reply::bad(
                    out,
                    &tag,
                    &format!("{} is not valid before login", other.name()),
                );
                Action::Continue
            }
        }
    }

    fn authenticated(&mut self, tag: Tag, command: Command, out: &mut Vec<u8>) -> Action {
        use Command as C;
        if let Some(refusal) = undecodable_name(&command) {
            if matches!(command, C::Select { .. } | C::Examine { .. }) {
                // A failed SELECT leaves no folder selected (§6.3.1).
                self.state = State::Authenticated;
            }
            Reply::no(out, &tag, Some(refusal.0), refusal.1);
            return Action::Continue;
        }
        if reads_selected(&command) && !self.may_read_selected(&tag, command.name(), out) {
            return Action::Continue;
        }
        match command {
            C::StartTls | C::Login { .. } | C::Authenticate { .. } => {
                Reply::bad(out, &tag, "Already logged in");
            }
            C::Select { mailbox } => self.select(&tag, mailbox.as_str(), true, out),
            C::Examine { mailbox } => self.select(&tag, mailbox.as_str(), false, out),
            C::Create { mailbox } => self.create(&tag, mailbox.as_str(), out),
            C::Delete { mailbox } => self.delete(&tag, mailbox.as_str(), out),
            C::Rename { from, to } => self.rename(&tag, from.as_str(), to.as_str(), out),
            C::Subscribe { mailbox } => self.subscribe(&tag, mailbox.as_str(), true, out),
            C::Unsubscribe { mailbox } => self.subscribe(&tag, mailbox.as_str(), false, out),
            C::List {
                reference,
                pattern,
                data,
            } => self.list(&tag, reference, pattern, Some(data), out),
            C::Lsub { reference, pattern } => self.list(&tag, reference, pattern, None, out),
            C::CourierAcl { target, change } => self.courier_acl(&tag, target, &change, out),
            C::Status { mailbox, items } => self.status(&tag, mailbox.as_str(), &items, out),
            C::Append {
                mailbox,
                flags,
                date,
                message,
                kind,
            } => {
                let start = AppendStart {
                    tag,
                    mailbox,
                    flags,
                    date,
                    kind,
                    size: message.len() as u64,
                    sync: false,
                };
                self.append(start, &message, out);
            }
            C::Namespace => {
                let personal = [NamespaceDesc {
                    prefix: "INBOX.".into(),
                    delimiter: Some('.'),
                }];
                // Courier's: other accounts' folders are shared ones
                // (`#shared.`), not "other users'" (RFC 2342 §5).
                let shared = [NamespaceDesc {
                    prefix: "#shared.".into(),
                    delimiter: Some('.'),
                }];
                respond::namespace(out, &personal, &[], &shared, self.utf8_enabled);
                self.finish_ok(&tag, "NAMESPACE completed", out);
            }
            C::Enable { capabilities } => self.enable(&tag, &capabilities, out),
            C::Idle => return self.idle(tag, out),
            C::Check => self.in_selected(&tag, out, |s, sel, out| {
                s.sync(sel, true, out);
                Reply::ok(out, &tag, "CHECK completed");
            }),
            C::Close => self.close(&tag, true, out),
            C::Unselect => self.close(&tag, false, out),
            C::Expunge { uids } => self.expunge(&tag, uids.as_ref(), out),
            C::Search {
                uid,
                charset,
                criteria,
                ret,
            } => self.search(
                &tag,
                uid,
                charset.as_deref(),
                &criteria,
                ret.as_deref(),
                out,
            ),
            C::Fetch { uid, set, items } => self.fetch(&tag, uid, &set, &items, out),
            C::Store {
                uid,
                set,
                mode,
                silent,
                flags,
            } => self.store(&tag, uid, &set, mode, silent, &flags, out),
            C::Copy { uid, set, mailbox } => {
                self.copy(&tag, uid, &set, mailbox.as_str(), false, out)
            }
            C::Move { uid, set, mailbox } => {
                self.copy(&tag, uid, &set, mailbox.as_str(), true, out)
            }
            C::GetAcl { mailbox } => self.getacl(&tag, mailbox.as_str(), out),
            C::MyRights { mailbox } => self.myrights(&tag, mailbox.as_str(), out),
            C::ListRights {
                mailbox,
                identifier,
            } => self.listrights(&tag, mailbox.as_str(), &identifier, out),
            C::SetAcl {
                mailbox,
                identifier,
                rights,
            } => self.setacl(&tag, mailbox.as_str(), &identifier, Some(&rights), out),
            C::DeleteAcl {
                mailbox,
                identifier,
            } => self.setacl(&tag, mailbox.as_str(), &identifier, None, out),
            C::GetQuotaRoot { mailbox } => self.getquotaroot(&tag, mailbox.as_str(), out),
            C::GetQuota { root } => self.getquota(&tag, &root, out),
            C::SetQuota { .. } => self.setquota(&tag, out),
            C::Sort {
                uid,
                criteria,
                charset,
                search,
                ret,
            } if self.sort_thread => {
                let order = sort::Order {
                    criteria: &criteria,
                    ret: ret.as_deref(),
                };
                self.sort(&tag, uid, order, &charset, &search, out)
            }
            C::Thread {
                uid,
                algorithm,
                charset,
                search,
            } if self.sort_thread => self.thread(&tag, uid, &algorithm, &charset, &search, out),
            other => {
                // SORT and THREAD when turned off.
                Reply::bad(
                    out,
                    &tag,
                    &format!("{} is not supported by this server", other.name()),
                );
            }
        }
        Action::Continue
    }

    /// Runs `f` on the selected folder, or answers `BAD` when none is.
    fn in_selected(
        &mut self,
        tag: &str,
        out: &mut Vec<u8>,
        f: impl FnOnce(&mut Session, &mut Selected, &mut Vec<u8>),
    ) {
        let state = std::mem::replace(&mut self.state, State::Authenticated);
        match state {
            State::Selected(mut sel) => {
                f(self, &mut sel, out);
                // `f` may have closed the folder (state changed meanwhile).
                if matches!(self.state, State::Authenticated) {
                    self.state = State::Selected(sel);
                }
            }
            other => {
                self.state = other;
                Reply::bad(out, tag, "No mailbox selected");
            }
        }
    }

    /// Tagged OK after telling the client about changes, for commands that
    /// allow EXPUNGE responses.
    fn finish_ok(&mut self, tag: &str, text: &str, out: &mut Vec<u8>) {
        if let State::Selected(_) = self.state {
            self.in_selected(tag, out, |s, sel, out| s.sync(sel, true, out));
        }
        Reply::ok(out, tag, text);
    }

    /// The account's mail (the other protocol's, after its login).
    fn store_ref(&self) -> Option<&dyn MailStore> {
        match &self.dialect {
            Some(dialect) => Some(dialect.store()),
            None => self.store.as_deref(),
        }
    }

    fn enable(&mut self, tag: &str, capabilities: &[String], out: &mut Vec<u8>) {
        let mut enabled = Vec::new();
        for cap in capabilities {
            if cap == "UTF8=ACCEPT" && !self.utf8_enabled {
                self.utf8_enabled = true;
                self.decoder.set_utf8_accept(true);
                enabled.push(cap.as_str());
            }
        }
        respond::enabled(out, &enabled);
        Reply::ok(out, tag, "ENABLE completed");
    }

    fn id(
        &mut self,
        tag: &str,
        parameters: Option<Vec<(String, Option<String>)>>,
        out: &mut Vec<u8>,
    ) {
        if let Some(params) = parameters {
            if matches!(self.state, State::NotAuthenticated) {
                self.client_id = params
                    .iter()
                    .take(30)
                    .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.clone()?)))
                    .collect();
            }
            let fields: Vec<String> = params
                .iter()
                .take(30)
                .map(|(k, v)| match v {
                    Some(v) => format!("{}={}", Untrusted(k), Untrusted(v)),
                    None => format!("{}=NIL", Untrusted(k)),
                })
                .collect();
            tracing::info!(
                user = %Untrusted(self.user.as_deref().unwrap_or("-")),
                "client ID: {}",
                fields.join(", ")
            );
        }
        let ours = [
            ("name".to_string(), Some("Courser".to_string())),
            (
                "version".to_string(),
                Some(env!("CARGO_PKG_VERSION").to_string()),
            ),
        ];
        respond::id(out, Some(&ours));
        Reply::ok(out, tag, "ID completed");
    }
}

/// Whether `command` works on the selected folder's messages, which
/// the `r` right it was opened with allows (RFC 4314 §4).
fn reads_selected(command: &Command) -> bool {
    use Command as C;
    matches!(
        command,
        C::Check
            | C::Expunge { .. }
            | C::Search { .. }
            | C::Fetch { .. }
            | C::Store { .. }
            | C::Copy { .. }
            | C::Move { .. }
            | C::Sort { .. }
            | C::Thread { .. }
    )
}

/// The `NO` for a command naming a mailbox that is not valid modified
/// UTF-7: it is well-formed, so not `BAD`; no mailbox has such a name, and
/// none may be made with it (RFC 3501 §5.1.3).
fn undecodable_name(command: &Command) -> Option<(Code, &'static str)> {
    use Command as C;
    let (name, creates) = match command {
        C::Create { mailbox } => (mailbox, true),
        C::Rename { from, to } if from.is_decodable() => (to, true),
        C::Rename { from, .. } => (from, false),
        C::Select { mailbox }
        | C::Examine { mailbox }
        | C::Delete { mailbox }
        | C::Subscribe { mailbox }
        | C::Unsubscribe { mailbox }
        | C::Status { mailbox, .. }
        | C::GetQuotaRoot { mailbox }
        | C::GetAcl { mailbox }
        | C::MyRights { mailbox }
        | C::ListRights { mailbox, .. }
        | C::SetAcl { mailbox, .. }
        | C::DeleteAcl { mailbox, .. }
        | C::CourierAcl {
            target: AclTarget::Mailbox(mailbox),
            ..
        }
        | C::Append { mailbox, .. }
        | C::Copy { mailbox, .. }
        | C::Move { mailbox, .. } => (mailbox, false),
        _ => return None,
    };
    if name.is_decodable() {
        None
    } else if creates {
        Some((Code::Cannot, "Mailbox name is not valid modified UTF-7"))
    } else {
        Some((Code::Nonexistent, "No such mailbox"))
    }
}

#[cfg(test)]
mod acl_tests;
#[cfg(test)]
mod outbox_tests;
#[cfg(test)]
mod tests;
