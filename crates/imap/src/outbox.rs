//! Courier's Outbox (its `OUTBOX` setting): every message APPENDed,
//! COPYed or MOVEd into one configured folder is also mailed, on behalf
//! of the logged-in user, and the command fails, storing nothing, when it
//! cannot be. The session decides which commands send and answers them;
//! what mails is a [`Sendmail`] the server provides (it runs a process,
//! which this crate does not).

use std::io::Read;
use std::sync::Arc;

use courser_maildir::names;

use crate::codec::utf7;
use crate::mailstore::{StoreError, StoreResult};

/// Mails a message.
pub trait Sendmail: Send + Sync {
    /// Mails `message` (its bytes as stored) for `sender`, the login of
    /// the session's user, to the recipients its header names. Blocks
    /// until it is handed on; a failure is [`StoreError::NotSent`] (the
    /// implementation logs why).
    fn send(&self, sender: &str, message: &mut dyn Read) -> StoreResult<()>;
    /// Mails `message` to exactly `envelope`'s recipients (SMAP's ADD),
    /// as [`Sendmail::send`] does otherwise.
    fn send_to(&self, envelope: &Envelope<'_>, message: &mut dyn Read) -> StoreResult<()>;
}

/// Where [`Sendmail::send_to`] sends.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// The envelope sender (`-f`); empty for the mailer's default.
    pub from: &'a str,
    /// Delivery status notifications asked for (sendmail's `-N`).
    pub notify: Option<&'a str>,
    /// The recipients.
    pub recipients: &'a [String],
}

/// The Outbox folder and how messages put into it are mailed.
#[derive(Clone)]
pub struct Outbox {
    folder: String,
    multiple: bool,
    sendmail: Arc<dyn Sendmail>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("folder", &self.folder)
            .field("multiple", &self.multiple)
            .finish_non_exhaustive()
    }
}

/// The IMAP name (`INBOX.Outbox`) of the outbox folder configured as
/// `name`: the folder's name below INBOX (`Outbox`), or Courier's
/// spelling of it (`.Outbox`), or the whole IMAP name. It must be a
/// valid folder name that is advertised as a plain atom in
/// `XCOURIEROUTBOX=`.
pub fn folder_name(name: &str) -> StoreResult<String> {
    let below = name.strip_prefix('.').unwrap_or(name);
    let full = match below.get(..6) {
        Some(p) if p.eq_ignore_ascii_case("INBOX.") => below.to_owned(),
        _ => format!("INBOX.{below}"),
    };
    let canonical = names::canonical(&full)?;
    // RFC 3501 atom-specials: the name is part of a capability atom.
    let atom = |c: char| !c.is_ascii_control() && !" (){%*\"\\]".contains(c);
    if !utf7::encode(&canonical).chars().all(atom) {
        return Err(StoreError::InvalidName {
            name: canonical,
            reason: "the outbox name cannot contain spaces or ( ) { % * \" \\ ]",
        });
    }
    Ok(canonical)
}

impl Outbox {
    /// Messages put into `folder` (see [`folder_name`]) are mailed by
    /// `sendmail`; a COPY or MOVE of more than one message into it is
    /// refused unless `multiple` (Courier's `OUTBOX_MULTIPLE_SEND`).
    pub fn new(folder: &str, multiple: bool, sendmail: Arc<dyn Sendmail>) -> StoreResult<Outbox> {
        Ok(Outbox {
            folder: folder_name(folder)?,
            multiple,
            sendmail,
        })
    }

    /// The folder's IMAP name.
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// Whether COPY and MOVE may send more than one message at once.
    pub(crate) fn multiple(&self) -> bool {
        self.multiple
    }

    /// The capability that tells clients of the folder (Courier's).
    pub(crate) fn capability(&self) -> String {
        format!("XCOURIEROUTBOX={}", utf7::encode(&self.folder))
    }

    /// Whether the folder named `name` (any spelling) is this outbox.
    pub(crate) fn is(&self, name: &str) -> bool {
        names::canonical(name).is_ok_and(|n| n == self.folder)
    }

    /// Mails one message for `sender`.
    pub(crate) fn send(&self, sender: &str, message: &mut dyn Read) -> StoreResult<()> {
        self.sendmail.send(sender, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_in_every_spelling() {
        for spelling in ["Outbox", ".Outbox", "INBOX.Outbox", "inbox.Outbox"] {
            assert_eq!(folder_name(spelling).unwrap(), "INBOX.Outbox", "{spelling}");
        }
        assert_eq!(folder_name("Sent.Out").unwrap(), "INBOX.Sent.Out");
        assert_eq!(folder_name("Ausgang-ä").unwrap(), "INBOX.Ausgang-ä");
        for bad in ["", ".", "a..b", "Out box", "Out(box)", "a/b", "x]"] {
            assert!(folder_name(bad).is_err(), "{bad:?}");
        }
    }

    struct Nothing;
    impl Sendmail for Nothing {
        fn send(&self, _: &str, _: &mut dyn Read) -> StoreResult<()> {
            Ok(())
        }
        fn send_to(&self, _: &Envelope<'_>, _: &mut dyn Read) -> StoreResult<()> {
            Ok(())
        }
    }

    #[test]
    fn any_spelling_of_the_folder_is_the_outbox() {
        let o = Outbox::new("Ausgang-ä", false, Arc::new(Nothing)).unwrap();
        assert_eq!(o.capability(), "XCOURIEROUTBOX=INBOX.Ausgang-&AOQ-");
        assert!(o.is("inbox.Ausgang-ä") && o.is("INBOX.Ausgang-ä"));
        assert!(!o.is("INBOX.ausgang-ä") && !o.is("INBOX") && !o.is("#shared.x"));
    }
}
