//! LIST and LSUB (RFC 3501 §6.3.8-9) with CHILDREN attributes (RFC 3348),
//! over Courier's personal namespace `INBOX.` and the other accounts'
//! folders in `#shared.`, with `.` as delimiter.

use std::collections::BTreeSet;

use courser_maildir::acl::rights;
use courser_maildir::shared_index;

use super::Session;
use crate::codec::respond::{self, ListAttr};

impl Session {
    pub(super) fn list(
        &mut self,
        tag: &str,
        reference: Option<String>,
        pattern: Option<String>,
        lsub: bool,
        out: &mut Vec<u8>,
    ) {
        // A name is listed only with the `l` right (RFC 4314 §4); one
        // whose ACL cannot be read is not shown, as in Courier.
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
        let mut visible = |name: &str| {
            let rights = store.my_rights(name);
            let shown = rights.as_ref().is_ok_and(|r| r.has(rights::LOOKUP));
            if let Ok(r) = rights {
                seen.push((name.to_owned(), r));
            }
            shown
        };
        // Other accounts' folders only for a pattern in `#shared`, as in
        // Courier (so `*` does not walk every account).
        let shared = full.starts_with(shared_index::PREFIX);
        let folders = if shared {
            let (under, levels) = shared_scope(&full);
            store.shared_folders(&under, levels)
        } else {
            match store.list_folders() {
                Ok(f) => f,
                Err(e) => return self.store_error(tag, &e, out),
            }
        };
        if lsub {
            let subscribed = match store.subscriptions() {
                Ok(s) => s,
                Err(e) => return self.store_error(tag, &e, out),
            };
            let mut shown = BTreeSet::new();
            // `#shared` names, as in LIST, only for a pattern there.
            let names = subscribed
                .iter()
                .filter(|n| n.starts_with(shared_index::PREFIX) == shared)
                .map(|n| normalize_inbox(n));
            for name in names {
                if matches(&full, &name) {
                    shown.insert((name, false));
                } else if let Some(parent) = matching_parent(&full, &name) {
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
                if *implied && names.contains(name.as_str()) || !visible(name) {
                    continue;
                }
                let attrs: &[ListAttr] = if *implied { &[ListAttr::NoSelect] } else { &[] };
                respond::lsub(out, attrs, Some('.'), name, self.utf8_enabled);
            }
        } else {
            for f in &folders {
                // The shared ones come with their `l` checked.
                if !matches(&full, &f.name) || !shared && !visible(&f.name) {
                    continue;
                }
                let mut attrs = Vec::new();
                if !f.selectable {
                    attrs.push(ListAttr::NoSelect);
                }
                attrs.push(if f.has_children {
                    ListAttr::HasChildren
                } else {
                    ListAttr::HasNoChildren
                });
                respond::list(out, &attrs, Some('.'), &f.name, self.utf8_enabled);
            }
        }
        for (name, r) in seen {
            self.rights_seen(&name, &r, out);
        }
        self.finish_ok(tag, &format!("{verb} completed"), out);
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
