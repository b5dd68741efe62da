//! The keys SORT and THREAD order messages by (RFC 5256, RFC 5957), made
//! from a message's ENVELOPE and `References:` once, so that a store can
//! keep them beside the message and ordering need not parse again.

mod subject;

pub use subject::BaseSubject;

use crate::decode::decode_header_text;
use crate::structure::{Address, Envelope};
use crate::unicode_casemap;

/// The base subject of an ENVELOPE's subject, with encoded words decoded
/// first (RFC 5256 §2.1 step 1).
pub fn base_subject(envelope: &Envelope) -> BaseSubject {
    let subject = envelope.subject.as_deref().unwrap_or_default();
    BaseSubject::of(&decode_header_text(subject))
}

/// RFC 5256 §3: the addr-mailbox of the first address, upper-cased. A
/// group's first entry is its start marker, whose addr-mailbox is the
/// group name (RFC 3501 §7.4.2), as Dovecot reads it too.
pub fn first_mailbox(list: &[Address]) -> String {
    list.first()
        .and_then(|a| a.mailbox.as_deref())
        .map(|m| String::from_utf8_lossy(m).to_ascii_uppercase())
        .unwrap_or_default()
}

/// RFC 5957 §3: the display name of the first address (decoded), or
/// `mailbox@host` without one (a group: its name), under
/// i;unicode-casemap.
pub fn display_key(list: &[Address]) -> String {
    let Some(a) = list.first() else {
        return String::new();
    };
    let name = a
        .name
        .as_deref()
        .map(decode_header_text)
        .unwrap_or_default();
    let name = name.trim();
    if !name.is_empty() {
        return unicode_casemap(name);
    }
    let part = |p: &Option<Vec<u8>>| {
        String::from_utf8_lossy(p.as_deref().unwrap_or_default()).into_owned()
    };
    let address = match &a.host {
        Some(_) => format!("{}@{}", part(&a.mailbox), part(&a.host)),
        None => part(&a.mailbox),
    };
    unicode_casemap(&address)
}

/// The message IDs in a header value, `<left@right>` each, in order;
/// anything else (comments, words, broken brackets) is skipped.
pub fn message_ids(value: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(value);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(['>', '<']) else {
            break;
        };
        if rest[close..].starts_with('>') {
            let id: String = rest[..close]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if id
                .split_once('@')
                .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty())
            {
                ids.push(format!("<{id}>"));
            }
        }
        rest = &rest[close..];
    }
    ids
}

/// THREAD's parent chain (RFC 5256 §2.2): the IDs of the first
/// `References:` value, or else the first ID of In-Reply-To.
pub fn thread_references(envelope: &Envelope, references: &[Vec<u8>]) -> Vec<String> {
    let ids = references
        .first()
        .map(|v| message_ids(v))
        .unwrap_or_default();
    if !ids.is_empty() {
        return ids;
    }
    envelope
        .in_reply_to
        .as_deref()
        .and_then(|v| message_ids(v).into_iter().next())
        .into_iter()
        .collect()
}

/// The message's own ID: the first in its Message-ID.
pub fn own_message_id(envelope: &Envelope) -> Option<String> {
    envelope
        .message_id
        .as_deref()
        .and_then(|v| message_ids(v).into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_taken_from_angle_brackets() {
        assert_eq!(message_ids(b"<a@b> (comment) <c@d>"), ["<a@b>", "<c@d>"]);
        assert_eq!(message_ids(b"<a@\r\n b>"), ["<a@b>"]);
        assert!(message_ids(b"<nohost> <@x> <x@> plain@word").is_empty());
        assert_eq!(message_ids(b"<<a@b>"), ["<a@b>"]);
        assert!(message_ids(b"<a@b").is_empty());
    }

    #[test]
    fn addresses_give_mailbox_and_display_keys() {
        let a = |name: Option<&str>, mailbox: &str, host: Option<&str>| Address {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(mailbox.as_bytes().to_vec()),
            host: host.map(|h| h.as_bytes().to_vec()),
        };
        let list = [
            a(Some("=?UTF-8?Q?Z=C3=BCrich?="), "zed", Some("x.org")),
            a(None, "ann", Some("x.org")),
        ];
        assert_eq!(first_mailbox(&list), "ZED");
        assert_eq!(display_key(&list), unicode_casemap("ZÜRICH"));
        assert_eq!(display_key(&[a(None, "ann", Some("x.org"))]), "ANN@X.ORG");
        let group = [a(None, "friends", None), a(None, "ann", Some("x.org"))];
        assert_eq!(first_mailbox(&group), "FRIENDS");
        assert_eq!(display_key(&group), "FRIENDS");
        assert_eq!(first_mailbox(&[]), "");
    }

    #[test]
    fn references_fall_back_to_in_reply_to() {
        let mut e = Envelope {
            in_reply_to: Some(b"<p@x> <q@x>".to_vec()),
            message_id: Some(b"junk <m@x>".to_vec()),
            ..Envelope::default()
        };
        assert_eq!(thread_references(&e, &[]), ["<p@x>"]);
        assert_eq!(
            thread_references(&e, &[b"<r@x> <s@x>".to_vec()]),
            ["<r@x>", "<s@x>"]
        );
        assert_eq!(thread_references(&e, &[b"none".to_vec()]), ["<p@x>"]);
        assert_eq!(own_message_id(&e).as_deref(), Some("<m@x>"));
        e.in_reply_to = None;
        assert!(thread_references(&e, &[]).is_empty());
    }
}
