//! QUOTA (RFC 9208): the account's Maildir++ quota (`maildirsize`), as
//! Courier shows it — one root, `ROOT`, over every folder (Trash is not
//! counted), STORAGE in units of 1024 octets and MESSAGE. SETQUOTA is
//! refused: the limit is the administrator's (`courser maildirmake -q`,
//! or the account's `quota` option at delivery).

use courser_maildir::names;

use super::acl::Missing;
use super::reply::Reply;
use super::Session;
use crate::codec::respond::{self, Code};
use crate::mailstore::QuotaUsage;

/// The one quota root, Courier's name for it.
const ROOT: &str = "ROOT";

/// The resources a quota limits, as `(name, usage, limit)`.
fn resources(q: &QuotaUsage) -> Vec<(&'static str, u64, u64)> {
    let used = |n: i64| u64::try_from(n.max(0)).unwrap_or(0);
    let mut out = Vec::new();
    if let Some(limit) = q.limits.bytes {
        out.push(("STORAGE", used(q.bytes).div_ceil(1024), limit / 1024));
    }
    if let Some(limit) = q.limits.count {
        out.push(("MESSAGE", used(q.count), limit));
    }
    out
}

impl Session {
    /// GETQUOTAROOT (RFC 9208 §4.3.2): the root of every own folder is
    /// ROOT when the account has a quota, none otherwise. A shared folder
    /// has none: the user's quota does not count what is stored there
    /// (Courier names an empty root `PUBLIC` or `SHARED` for them; an
    /// empty list says the same in RFC 9208's terms). Of a folder the
    /// user has no right on that shows it (as for MYRIGHTS), nothing is
    /// said but that it is not there.
    pub(super) fn getquotaroot(&mut self, tag: &str, mailbox: &str, out: &mut Vec<u8>) {
        let hidden = Missing::Folder;
        if !self.exists(tag, mailbox, hidden, out)
            || !self.require(tag, "GETQUOTAROOT", mailbox, "lricxea", Some(hidden), out)
        {
            return;
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        let quota = match store.quota() {
            Ok(q) => q,
            Err(e) => return self.store_error(tag, &e, out),
        };
        match &quota {
            Some(q) if !names::is_shared(mailbox) => {
                respond::quotaroot(out, mailbox, &[ROOT], self.utf8_enabled);
                respond::quota(out, ROOT, &resources(q));
            }
            _ => respond::quotaroot(out, mailbox, &[], self.utf8_enabled),
        }
        self.finish_ok(tag, "GETQUOTAROOT completed", out);
    }

    /// GETQUOTA (RFC 9208 §4.3.1).
    pub(super) fn getquota(&mut self, tag: &str, root: &str, out: &mut Vec<u8>) {
        let Some(store) = self.store_ref() else {
            return;
        };
        match store.quota() {
            Ok(Some(q)) if root.eq_ignore_ascii_case(ROOT) => {
                respond::quota(out, ROOT, &resources(&q));
                self.finish_ok(tag, "GETQUOTA completed", out);
            }
            Ok(_) => Reply::no(out, tag, Some(Code::Nonexistent), "No such quota root"),
            Err(e) => self.store_error(tag, &e, out),
        }
    }

    /// SETQUOTA (RFC 9208 §4.2): refused, as Courier does.
    pub(super) fn setquota(&mut self, tag: &str, out: &mut Vec<u8>) {
        Reply::no(out, tag, Some(Code::NoPerm), "SETQUOTA No permission.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailstore::QuotaLimits;

    #[test]
    fn storage_is_counted_in_kilobytes_rounded_up() {
        let q = QuotaUsage {
            spec: "1048576S,100C".into(),
            limits: QuotaLimits::parse("1048576S,100C"),
            bytes: 1025,
            count: 3,
        };
        assert_eq!(resources(&q), [("STORAGE", 2, 1024), ("MESSAGE", 3, 100)]);
        let only_count = QuotaUsage {
            limits: QuotaLimits::parse("10C"),
            bytes: -5,
            ..q
        };
        assert_eq!(resources(&only_count), [("MESSAGE", 3, 10)]);
    }
}
