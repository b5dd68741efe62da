//! ADD (spec §5.12): a batch of ADD lines sets where the message goes
//! and whom it is mailed to, until one starts the upload.

use std::time::{Duration, SystemTime};

use courser_imap::mailstore::Flags;

/// What the ADD lines so far have set.
#[derive(Debug, Default)]
pub struct Batch {
    /// The folder it is saved in (IMAP name); none: only mailed.
    pub folder: Option<String>,
    /// Mailed to these.
    pub recipients: Vec<String>,
    /// The envelope sender; none: the user's login.
    pub from: Option<String>,
    /// DSN options (sendmail's `-N`).
    pub notify: Option<String>,
    /// Its flags (those the folder's rights allow are kept).
    pub flags: Flags,
    /// Its keywords.
    pub keywords: Vec<String>,
    /// Its INTERNALDATE.
    pub internal_date: Option<SystemTime>,
}

/// What one `NAME=value` parameter did: the text of the `+OK` that
/// answers the line, when it changes it.
pub fn set(batch: &mut Batch, name: &str, value: &str, keywords: bool) -> Option<&'static str> {
    match name {
        "MAILFROM" => {
            batch.from = Some(value.to_owned());
            None
        }
        "NOTIFY" => {
            batch.notify = Some(value.to_owned());
            Some("NOTIFY set")
        }
        "RCPTTO" => {
            batch.recipients.push(value.to_owned());
            Some("RCPT TO set")
        }
        "FLAGS" => {
            batch.flags = crate::session::parse_flags(value);
            Some("FLAGS set")
        }
        "KEYWORDS" if keywords => {
            batch.keywords = value
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect();
            Some("KEYWORDS set")
        }
        "INTERNALDATE" => {
            let secs = courser_mime::parse_date(value.as_bytes())?;
            let secs = u64::try_from(secs).ok()?;
            batch.internal_date = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
            Some("INTERNALDATE set")
        }
        // Courier passes over what it does not know.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_accumulate() {
        let mut b = Batch::default();
        assert_eq!(set(&mut b, "RCPTTO", "a@x", true), Some("RCPT TO set"));
        assert_eq!(set(&mut b, "RCPTTO", "b@x", true), Some("RCPT TO set"));
        assert_eq!(set(&mut b, "MAILFROM", "me@x", true), None);
        assert_eq!(set(&mut b, "FLAGS", "SEEN,draft", true), Some("FLAGS set"));
        assert_eq!(set(&mut b, "KEYWORDS", "k1,,k2", false), None);
        assert_eq!(
            set(
                &mut b,
                "INTERNALDATE",
                "Wed, 22 Jan 2003 01:57:48 +0000",
                true
            ),
            Some("INTERNALDATE set")
        );
        assert_eq!(set(&mut b, "INTERNALDATE", "garbage", true), None);
        assert_eq!(b.recipients, ["a@x", "b@x"]);
        assert_eq!(b.flags, Flags::SEEN | Flags::DRAFT);
        assert!(b.keywords.is_empty());
        let t = b
            .internal_date
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(t.as_secs(), 1_043_200_668);
    }
}
