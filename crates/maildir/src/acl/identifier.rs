//! ACL identifiers: who an entry is about.

use super::rights::{self, is_forbidden, Rights};

/// What an identifier names. Identifiers are stored as given; this is a
/// view of one, without its `-` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identifier<'a> {
    /// `owner`: the folder's owner.
    Owner,
    /// `anyone` or `anonymous`: everybody.
    Anyone,
    /// `user=<login>`.
    User(&'a [u8]),
    /// `group=<name>`, from the account's authlib `group=` options
    /// (`group=administrators` is [`Identifier::Administrators`]).
    Group(&'a [u8]),
    /// `administrators` or `group=administrators`.
    Administrators,
    /// Anything else (never matches a login, but is kept).
    Other(&'a [u8]),
}

/// The entry prefix that revokes rights instead of granting them.
pub const NEGATIVE: u8 = b'-';

impl<'a> Identifier<'a> {
    /// Splits an identifier into its `-` flag (true for a negative entry)
    /// and what it names.
    pub fn classify(id: &'a [u8]) -> (bool, Identifier<'a>) {
        match id.split_first() {
            Some((&NEGATIVE, rest)) => (true, Identifier::of(rest)),
            _ => (false, Identifier::of(id)),
        }
    }

    fn of(id: &'a [u8]) -> Identifier<'a> {
        match id {
            b"owner" => Identifier::Owner,
            b"anyone" | b"anonymous" => Identifier::Anyone,
            b"administrators" | b"group=administrators" => Identifier::Administrators,
            _ => {
                if let Some(login) = id.strip_prefix(b"user=") {
                    Identifier::User(login)
                } else if let Some(group) = id.strip_prefix(b"group=") {
                    Identifier::Group(group)
                } else {
                    Identifier::Other(id)
                }
            }
        }
    }
}

/// True if `id` may be stored: not empty, no space or control character.
pub fn is_valid(id: &[u8]) -> bool {
    !id.is_empty() && !id.iter().any(|&b| is_forbidden(b))
}

/// The rights an ACL must leave an identifier, for IMAP LISTRIGHTS and the
/// RIGHTS-INFO of a refused change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRights {
    /// Rights always granted (empty: none).
    pub required: Rights,
    /// Rights that may be granted, each on its own.
    pub optional: &'static [u8],
}

/// What [`ListRights`] `id` has, as Courier answers it.
pub fn list_rights(id: &[u8]) -> ListRights {
    const OPTIONAL: &[u8] = b"ceiprstwx";
    match Identifier::classify(id) {
        (false, Identifier::Administrators) => ListRights {
            required: Rights::all(),
            optional: b"",
        },
        (true, Identifier::Administrators) => ListRights {
            required: Rights::empty(),
            optional: b"",
        },
        (true, _) => ListRights {
            required: Rights::empty(),
            optional: OPTIONAL,
        },
        (false, _) => ListRights {
            required: Rights::parse([rights::ADMINISTER, rights::LOOKUP]).unwrap_or_default(),
            optional: OPTIONAL,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_every_kind() {
        use Identifier::*;
        assert_eq!(Identifier::classify(b"owner"), (false, Owner));
        assert_eq!(Identifier::classify(b"-anyone"), (true, Anyone));
        assert_eq!(Identifier::classify(b"anonymous"), (false, Anyone));
        assert_eq!(Identifier::classify(b"user=bob"), (false, User(b"bob")));
        assert_eq!(
            Identifier::classify(b"-group=staff"),
            (true, Group(b"staff"))
        );
        assert_eq!(
            Identifier::classify(b"group=administrators"),
            (false, Administrators)
        );
        assert_eq!(
            Identifier::classify(b"-administrators"),
            (true, Administrators)
        );
        assert_eq!(
            Identifier::classify(b"vendor=x"),
            (false, Other(b"vendor=x"))
        );
    }

    #[test]
    fn validity() {
        assert!(is_valid(b"user=b\xc3\xa9"));
        assert!(!is_valid(b""));
        assert!(!is_valid(b"user=a b"));
        assert!(!is_valid(b"owner\t"));
    }

    #[test]
    fn minimum_rights_per_kind() {
        assert_eq!(list_rights(b"user=x").required.to_string(), "al");
        assert_eq!(list_rights(b"-user=x").required.to_string(), "");
        assert_eq!(
            list_rights(b"administrators").required.to_string(),
            rights::ALL
        );
        assert!(list_rights(b"-group=administrators").optional.is_empty());
    }
}
