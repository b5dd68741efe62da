//! LIST and LSUB (RFC 3501 §6.3.8-9) with CHILDREN attributes (RFC 3348),
//! over Courier's personal namespace `INBOX.` and the other accounts'
//! folders in `#shared.`, with `.` as delimiter.

use std::collections::BTreeSet;

use courser_maildir::acl::rights;
use courser_maildir::shared_index;

use super::Session;
use crate::codec::respond::{self, ListAttr};
use crate::codec::types::ListData;
use crate::mailstore::{FolderEntry, MailStore, Rights, StoreResult};

/// A folder LIST shows, with the user's rights on it where they were
/// read to decide that.
pub(super) struct Listed {
    pub entry: FolderEntry,
    pub rights: Option<Rights>,
}

/// The folders LIST shows for pattern `full` (reference and pattern
/// joined): those matching it that the user may see (`l`, RFC 4314 §4;
/// one whose ACL cannot be read is not shown, as in Courier). Other
/// accounts' folders only for a pattern in `#shared`, as in Courier (so
/// `*` does not walk every account); they come with `l` checked.
pub(super) fn listing(store: &dyn MailStore, full: &str) -> StoreResult<Vec<Listed>> {
    let shared = full.starts_with(shared_index::PREFIX);
    let folders = if shared {
        let (under, levels) = shared_scope(full);
        store.shared_folders(&under, levels)
    } else {
        store.list_folders()?
    };
    let mut out = Vec::new();
    for entry in folders.into_iter().filter(|f| matches(full, &f.name)) {
        let rights = if shared {
            None
        } else {
            match store.my_rights(&entry.name) {
                Ok(r) if r.has(rights::LOOKUP) => Some(r),
                _ => continue,
            }
        };
        out.push(Listed { entry, rights });
    }
    Ok(out)
}

/// A LIST entry's attributes (RFC 3348).
pub(super) fn attributes(f: &FolderEntry) -> Vec<ListAttr> {
    let mut attrs = Vec::new();
    if !f.selectable {
        attrs.push(ListAttr::NoSelect);
    }
    attrs.push(if f.has_children {
        ListAttr::HasChildren
    } else {
        ListAttr::HasNoChildren
    });
    attrs
}

impl Session {
    pub(super) fn list(
        &mut self,
        tag: &str,
        reference: Option<String>,
        pattern: Option<String>,
        data: Option<ListData>,
        out: &mut Vec<u8>,
    ) {
        let lsub = data.is_none();
        let verb = if lsub { "LSUB" } else { "LIST" };
        let (Some(reference), Some(pattern)) = (reference, pattern) else {
            // Not valid modified UTF-7: no mailbox name matches it.
            return self.finish_ok(tag, &format!("{verb} completed"), out);
        };
        if pattern.is_empty() && !lsub {
            // RFC 3501 §6.3.8: the hierarchy delimiter and root.
            respond::list(out, &[ListAttr::NoSelect], Some('.'), "", false);
            return self.finish_ok(tag, "LIST completed", out);
        }
        let full = normalize_inbox(&format!("{reference}{pattern}"));
        let Some(store) = self.store_ref() else {
            return;
        };
        // Rights read on the way, for the selected folder's (as Courier).
        let mut seen = Vec::new();
        match data {
            None => {
                if let Err(e) = self.lsub(store, &full, &mut seen, out) {
                    return self.store_error(tag, &e, out);
                }
            }
            Some(data) => {
                let listed = match listing(store, &full) {
                    Ok(l) => l,
                    Err(e) => return self.store_error(tag, &e, out),
                };
                for l in listed {
                    self.list_one(store, &l, data, out);
                    seen.extend(l.rights.map(|r| (l.entry.name, r)));
                }
            }
        }
        for (name, r) in seen {
            self.rights_seen(&name, &r, out);
        }
        self.finish_ok(tag, &format!("{verb} completed"), out);
    }

    /// One LIST line, with what Courier's extension asks for.
    pub(super) fn list_one(
        &self,
        store: &dyn MailStore,
        l: &Listed,
        data: ListData,
        out: &mut Vec<u8>,
    ) {
        let name = &l.entry.name;
        let attrs = attributes(&l.entry);
        if !data.any() {
            return respond::list(out, &attrs, Some('.'), name, self.utf8_enabled);
        }
        let rights = match &l.rights {
            Some(r) => r.clone(),
            None => store.my_rights(name).unwrap_or_default(),
        };
        // The ACL to those who may administer it, the rights to those who
        // may see them (Courier's rules for GETACL and MYRIGHTS).
        let acl: Option<Vec<(String, String)>> = (data.acl && rights.has(rights::ADMINISTER))
            .then(|| store.acl(name).ok())
            .flatten()
            .map(|list| {
                list.entries()
                    .iter()
                    .map(|e| {
                        let id = String::from_utf8_lossy(e.identifier()).into_owned();
                        (id, super::acl::rfc2086(e.rights(), true))
                    })
                    .collect()
            });
        let may_see = "lricxea".bytes().any(|b| rights.has(b));
        let myrights = (data.myrights && may_see).then(|| super::acl::rfc2086(&rights, true));
        let extra = respond::ListExtra {
            acl: acl.as_deref(),
            myrights: myrights.as_deref(),
            postaddress: data.postaddress,
        };
        respond::list_extended(out, &attrs, Some('.'), name, self.utf8_enabled, &extra);
    }

    /// LSUB: the subscribed names matching `full` the user may see.
    fn lsub(
        &self,
        store: &dyn MailStore,
        full: &str,
        seen: &mut Vec<(String, Rights)>,
        out: &mut Vec<u8>,
    ) -> StoreResult<()> {
        let subscribed = store.subscriptions()?;
        let mut shown = BTreeSet::new();
        // Every subscribed name the pattern matches (RFC 3501 §6.3.9),
        // `#shared` ones included: Courier leaves those out unless the
        // pattern starts with `#shared`, so clients that ask `LSUB "" *`
        // (Roundcube) never showed them.
        for name in subscribed.iter().map(|n| normalize_inbox(n)) {
            if matches(full, &name) {
                shown.insert((name, false));
            } else if let Some(parent) = matching_parent(full, &name) {
                // A `%` pattern stops at a level whose child is
                // subscribed: show that level as \Noselect (§6.3.9).
                shown.insert((parent, true));
            }
        }
        let names: BTreeSet<&str> = shown
            .iter()
            .filter(|(_, p)| !p)
            .map(|(n, _)| n.as_str())
            .collect();
        for (name, implied) in &shown {
            if *implied && names.contains(name.as_str()) {
                continue;
            }
            let Ok(r) = store.my_rights(name) else {
                continue;
            };
            let visible = r.has(rights::LOOKUP);
            seen.push((name.clone(), r));
            if !visible {
                continue;
            }
            let attrs: &[ListAttr] = if *implied { &[ListAttr::NoSelect] } else { &[] };
            respond::lsub(out, attrs, Some('.'), name, self.utf8_enabled);
        }
        Ok(())
    }
}

/// Upper-cases a leading `INBOX` component: INBOX is case-insensitive,
/// every other name is not (RFC 3501 §5.1).
fn normalize_inbox(name: &str) -> String {
    let head = name.split('.').next().unwrap_or("");
    if head.eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &name[head.len()..])
    } else {
        name.to_owned()
    }
}

/// LIST wildcard match: `*` matches anything, `%` anything but the
/// delimiter. Dynamic programming keeps hostile patterns linear-ish
/// (pattern length × name length), never exponential.
fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // row[j]: pattern prefix matches name prefix of length j.
    let mut row = vec![false; n.len() + 1];
    row[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' | '%' => {
                let mut reach = false;
                for j in 0..=n.len() {
                    reach = reach || row[j];
                    next[j] = reach;
                    if j < n.len() && pc == '%' && n[j] == '.' {
                        reach = false;
                    }
                }
            }
            c => {
                for j in 0..n.len() {
                    next[j + 1] = row[j] && n[j] == c;
                }
            }
        }
        row = next;
    }
    row[n.len()]
}

/// Where in `#shared` a pattern can match: the level named by its
/// components before the first wildcard, and how many levels below
/// `#shared` it reaches (`None` with `*`).
fn shared_scope(pattern: &str) -> (String, Option<usize>) {
    let parts: Vec<&str> = pattern.split('.').collect();
    let literal = parts.iter().take_while(|p| !p.contains(['*', '%'])).count();
    let levels = (!pattern.contains('*')).then(|| parts.len() - 1);
    let under = match literal {
        0 => shared_index::PREFIX.to_owned(),
        n => parts[..n].join("."),
    };
    (under, levels)
}

/// For LSUB with `%`: the ancestor of `name` that `pattern` matches, if any.
fn matching_parent(pattern: &str, name: &str) -> Option<String> {
    let mut end = name.len();
    while let Some(dot) = name[..end].rfind('.') {
        end = dot;
        if matches(pattern, &name[..end]) {
            return Some(name[..end].to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*", "INBOX.a.b"));
        assert!(matches("INBOX.%", "INBOX.a"));
        assert!(!matches("INBOX.%", "INBOX.a.b"));
        assert!(matches("%", "INBOX"));
        assert!(!matches("%", "INBOX.a"));
        assert!(matches("INBOX.*b", "INBOX.a.b"));
        assert!(matches("INBOX", "INBOX"));
        assert!(!matches("INBOX", "INBOX.a"));
        assert!(matches("I%X.%", "INBOX.x"));
        let hostile = "*%".repeat(500) + "x";
        assert!(!matches(&hostile, &"a.".repeat(200)));
    }

    #[test]
    fn where_a_shared_pattern_reaches() {
        let scope = |p: &str| shared_scope(p);
        assert_eq!(scope("#shared.*"), ("#shared".into(), None));
        assert_eq!(scope("#shared.%"), ("#shared".into(), Some(1)));
        assert_eq!(scope("#shared.a.%.x"), ("#shared.a".into(), Some(3)));
        assert_eq!(
            scope("#shared.a.user1"),
            ("#shared.a.user1".into(), Some(2))
        );
        assert_eq!(scope("#shared*"), ("#shared".into(), None));
        assert_eq!(scope("#shared%"), ("#shared".into(), Some(0)));
    }

    #[test]
    fn inbox_is_case_insensitive_only_at_the_root() {
        assert_eq!(normalize_inbox("inbox.Sent"), "INBOX.Sent");
        assert_eq!(normalize_inbox("Inbox"), "INBOX");
        assert_eq!(normalize_inbox("inboxes"), "inboxes");
        assert_eq!(
            matching_parent("INBOX.%", "INBOX.a.b").as_deref(),
            Some("INBOX.a")
        );
    }
}
