//! THREAD's two algorithms (RFC 5256 §3): ORDEREDSUBJECT, and REFERENCES
//! (§2.2's steps 1-6, which follow Jamie Zawinski's threading).
//!
//! Both take [`Threadable`] messages and answer a [`ThreadForest`] whose
//! nodes name messages by their index in the input (the caller turns
//! them into sequence numbers or UIDs); a node without one is a dummy
//! standing for a message that is not in the result. Nodes live in one
//! flat vector and every walk is a loop, not a recursion: one chain of
//! replies may be as long as the folder.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::codec::respond::{ThreadForest, ThreadNode};
use courser_mime::order::BaseSubject;

/// What threading needs of one message.
#[derive(Debug, Clone)]
pub(crate) struct Threadable {
    /// Sequence number: the tie-breaker for equal dates.
    pub seq: u32,
    /// Sent date (Unix seconds, UTC), INTERNALDATE when there is none.
    pub sent: i64,
    /// The message's own Message-ID, if valid.
    pub message_id: Option<String>,
    /// Its References (or the first In-Reply-To), oldest first.
    pub references: Vec<String>,
    /// Its base subject.
    pub subject: BaseSubject,
}

/// A forest being built: nodes name input indexes.
struct Forest<'m> {
    msgs: &'m [Threadable],
    nodes: Vec<ThreadNode>,
}

impl<'m> Forest<'m> {
    fn new(msgs: &'m [Threadable]) -> Forest<'m> {
        Forest {
            msgs,
            nodes: Vec::with_capacity(msgs.len()),
        }
    }

    fn add(&mut self, message: Option<usize>, children: Vec<usize>) -> usize {
        self.nodes.push(ThreadNode {
            message: message.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
            children,
        });
        self.nodes.len() - 1
    }

    fn message(&self, node: usize) -> Option<&'m Threadable> {
        let i = usize::try_from(self.nodes[node].message?).ok()?;
        self.msgs.get(i)
    }

    /// The message that stands for a node: itself, or a dummy's first
    /// child's (children sorted already).
    fn representative(&self, mut node: usize) -> Option<&'m Threadable> {
        loop {
            if let Some(m) = self.message(node) {
                return Some(m);
            }
            node = *self.nodes[node].children.first()?;
        }
    }

    fn is_reply(&self, node: usize) -> bool {
        self.message(node).is_some_and(|m| m.subject.is_reply)
    }

    /// Sent date, then sequence number (§2.2).
    fn by_date(&self, a: usize, b: usize) -> Ordering {
        let key = |n| self.representative(n).map(|m| (m.sent, m.seq));
        key(a).cmp(&key(b))
    }

    /// Every node below `roots`, parents before children.
    fn preorder(&self, roots: &[usize]) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<usize> = roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend(self.nodes[n].children.iter().rev());
        }
        order
    }

    /// Sorts the roots and every set of siblings below them by sent date,
    /// deepest first (a dummy sorts by its first child).
    fn sort(&mut self, roots: &mut [usize]) {
        for n in self.preorder(roots).into_iter().rev() {
            let mut children = std::mem::take(&mut self.nodes[n].children);
            children.sort_by(|&a, &b| self.by_date(a, b));
            self.nodes[n].children = children;
        }
        roots.sort_by(|&a, &b| self.by_date(a, b));
    }

    fn finish(self, roots: Vec<usize>) -> ThreadForest {
        ThreadForest {
            nodes: self.nodes,
            roots,
        }
    }
}

/// ORDEREDSUBJECT: threads of equal base subject, each message after the
/// first a child of the first, threads in order of their first message.
pub(crate) fn ordered_subject(msgs: &[Threadable]) -> ThreadForest {
    let mut order: Vec<usize> = (0..msgs.len()).collect();
    order.sort_by(|&a, &b| {
        let (ma, mb) = (&msgs[a], &msgs[b]);
        (&ma.subject.key, ma.sent, ma.seq).cmp(&(&mb.subject.key, mb.sent, mb.seq))
    });
    let mut forest = Forest::new(msgs);
    let mut roots: Vec<usize> = Vec::new();
    let mut last_key: Option<&str> = None;
    for i in order {
        let key = msgs[i].subject.key.as_str();
        let node = forest.add(Some(i), Vec::new());
        match roots.last() {
            Some(&first) if last_key == Some(key) => forest.nodes[first].children.push(node),
            _ => roots.push(node),
        }
        last_key = Some(key);
    }
    roots.sort_by(|&a, &b| forest.by_date(a, b));
    forest.finish(roots)
}

/// Step 1's link table: one container per Message-ID and per message.
struct Links {
    message: Vec<Option<usize>>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    by_id: HashMap<String, usize>,
}

impl Links {
    fn fresh(&mut self) -> usize {
        self.message.push(None);
        self.parent.push(None);
        self.children.push(Vec::new());
        self.message.len() - 1
    }

    fn container(&mut self, id: &str) -> usize {
        if let Some(&c) = self.by_id.get(id) {
            return c;
        }
        let c = self.fresh();
        self.by_id.insert(id.to_owned(), c);
        c
    }

    /// Whether `a` is `b` or below it.
    fn is_within(&self, mut a: usize, b: usize) -> bool {
        // Links never form a loop, so the walk ends at a root.
        loop {
            if a == b {
                return true;
            }
            match self.parent[a] {
                Some(p) => a = p,
                None => return false,
            }
        }
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.parent[child].take() {
            self.children[p].retain(|&c| c != child);
        }
    }

    /// Makes `parent` the parent of `child` unless that would make a loop.
    fn link(&mut self, parent: usize, child: usize) {
        if self.is_within(parent, child) {
            return;
        }
        self.parent[child] = Some(parent);
        self.children[parent].push(child);
    }
}

/// REFERENCES (RFC 5256 §2.2 steps 1-6).
pub(crate) fn references(msgs: &[Threadable]) -> ThreadForest {
    let mut links = Links {
        message: Vec::new(),
        parent: Vec::new(),
        children: Vec::new(),
        by_id: HashMap::with_capacity(msgs.len() * 2),
    };
    // Step 1.
    for (i, m) in msgs.iter().enumerate() {
        // A missing or duplicate Message-ID gets a unique one.
        let own = match &m.message_id {
            Some(id) => match links.container(id) {
                c if links.message[c].is_none() => c,
                _ => links.fresh(),
            },
            None => links.fresh(),
        };
        links.message[own] = Some(i);
        // (A) each reference the parent of the next, unless linked already.
        let refs: Vec<usize> = m.references.iter().map(|r| links.container(r)).collect();
        for pair in refs.windows(2) {
            if links.parent[pair[1]].is_none() {
                links.link(pair[0], pair[1]);
            }
        }
        // (B) the last reference is the message's parent, whatever it had.
        links.unlink(own);
        if let Some(&last) = refs.last() {
            links.link(last, own);
        }
    }
    // Step 2: the parentless are the roots. Node i is container i.
    let mut forest = Forest::new(msgs);
    for (message, children) in links.message.into_iter().zip(links.children) {
        forest.add(message, children);
    }
    let roots: Vec<usize> = (0..forest.nodes.len())
        .filter(|&c| links.parent[c].is_none())
        .collect();
    // Step 3: dummies go; their children take their place, except at the
    // top, where only a single child does.
    for n in forest.preorder(&roots).into_iter().rev() {
        let old = std::mem::take(&mut forest.nodes[n].children);
        let mut kept = Vec::with_capacity(old.len());
        for c in old {
            if forest.nodes[c].message.is_none() {
                kept.extend(forest.nodes[c].children.iter().copied());
            } else {
                kept.push(c);
            }
        }
        forest.nodes[n].children = kept;
    }
    let mut top = Vec::with_capacity(roots.len());
    for r in roots {
        let node = &forest.nodes[r];
        if node.message.is_none() && node.children.len() <= 1 {
            top.extend(node.children.iter().copied());
        } else {
            top.push(r);
        }
    }
    // Step 4.
    forest.sort(&mut top);
    // Step 5.
    let mut top = merge_subjects(&mut forest, top);
    // Step 6.
    forest.sort(&mut top);
    forest.finish(top)
}

/// Step 5: threads whose subjects match are gathered.
fn merge_subjects(forest: &mut Forest<'_>, roots: Vec<usize>) -> Vec<usize> {
    /// A thread's subject (step 5.B.i), if it has one.
    fn subject<'m>(f: &Forest<'m>, n: usize) -> Option<&'m str> {
        f.representative(n)
            .map(|m| m.subject.key.as_str())
            .filter(|k| !k.is_empty())
    }
    // (B) one thread per subject: a dummy before a message, a message
    // that is not a reply before one that is.
    let mut table: HashMap<&str, usize> = HashMap::new();
    for (slot, &n) in roots.iter().enumerate() {
        let Some(key) = subject(forest, n) else {
            continue;
        };
        match table.get(key) {
            None => {
                table.insert(key, slot);
            }
            Some(&held) => {
                let h = roots[held];
                let dummy = forest.nodes[n].message.is_none();
                if forest.nodes[h].message.is_some()
                    && (dummy || (forest.is_reply(h) && !forest.is_reply(n)))
                {
                    table.insert(key, slot);
                }
            }
        }
    }
    // (C) the others join the one in the table.
    let keys: Vec<Option<usize>> = roots
        .iter()
        .map(|&n| subject(forest, n).and_then(|k| table.get(k).copied()))
        .collect();
    let mut slots: Vec<Option<usize>> = roots.into_iter().map(Some).collect();
    for (slot, held) in keys.into_iter().enumerate() {
        let Some(held) = held.filter(|&h| h != slot) else {
            continue;
        };
        let (Some(current), Some(target)) = (slots[slot], slots[held]) else {
            continue;
        };
        slots[slot] = None;
        let target_dummy = forest.nodes[target].message.is_none();
        let current_dummy = forest.nodes[current].message.is_none();
        if target_dummy && current_dummy {
            let moved = std::mem::take(&mut forest.nodes[current].children);
            forest.nodes[target].children.extend(moved);
        } else if target_dummy || (forest.is_reply(current) && !forest.is_reply(target)) {
            forest.nodes[target].children.push(current);
        } else {
            slots[held] = Some(forest.add(None, vec![target, current]));
        }
    }
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u32, sent: i64, id: &str, refs: &[&str], subject: &str) -> Threadable {
        Threadable {
            seq,
            sent,
            message_id: (!id.is_empty()).then(|| id.to_owned()),
            references: refs.iter().map(|r| r.to_string()).collect(),
            subject: BaseSubject::of(subject),
        }
    }

    /// The THREAD response's list, with sequence numbers.
    fn show(msgs: &[Threadable], mut forest: ThreadForest) -> String {
        for node in &mut forest.nodes {
            node.message = node.message.map(|i| msgs[i as usize].seq);
        }
        let mut out = Vec::new();
        crate::codec::respond::thread(&mut out, &forest);
        let text = String::from_utf8(out).unwrap();
        text["* THREAD ".len()..text.len() - 2].to_owned()
    }

    #[test]
    fn references_link_replies_and_keep_missing_parents_as_dummies() {
        let msgs = [
            msg(1, 100, "<a@x>", &[], "hello"),
            msg(2, 200, "<b@x>", &["<a@x>"], "Re: hello"),
            msg(3, 300, "<c@x>", &["<a@x>", "<b@x>"], "Re: hello"),
            msg(4, 250, "<d@x>", &["<a@x>"], "Re: hello"),
            // Two replies to a message that is not here: a dummy joins them.
            msg(5, 500, "<e@x>", &["<gone@x>"], "other"),
            msg(6, 400, "<f@x>", &["<gone@x>"], "Re: other"),
            msg(7, 50, "", &[], "alone"),
        ];
        let t = references(&msgs);
        assert_eq!(show(&msgs, t), "(7)(1 (2 3)(4))((6)(5))");
    }

    #[test]
    fn references_loops_and_duplicates_do_not_break_it() {
        let msgs = [
            msg(1, 1, "<a@x>", &["<b@x>"], "x"),
            msg(2, 2, "<b@x>", &["<a@x>"], "y"),
            msg(3, 3, "<a@x>", &[], "z"),
            msg(4, 4, "<d@x>", &["<d@x>"], "w"),
        ];
        let t = references(&msgs);
        // 1 names 2 as its parent; 2 naming 1 would make a loop. The
        // second "<a@x>" and a message naming itself stand alone.
        assert_eq!(show(&msgs, t), "(2 1)(3)(4)");
    }

    #[test]
    fn references_merges_threads_by_subject() {
        let msgs = [
            msg(1, 10, "<a@x>", &[], "meeting"),
            msg(2, 20, "<b@x>", &[], "Re: meeting"),
            msg(3, 30, "<c@x>", &[], "meeting"),
            msg(4, 40, "<d@x>", &[], ""),
            msg(5, 50, "<e@x>", &[], ""),
        ];
        let t = references(&msgs);
        // 2 is a reply: it joins 1; 3 is not: a dummy holds 1 and 3.
        // Empty subjects are never merged.
        assert_eq!(show(&msgs, t), "((1 2)(3))(4)(5)");
    }

    #[test]
    fn ordered_subject_groups_by_base_subject() {
        let msgs = [
            msg(1, 30, "", &[], "b"),
            msg(2, 10, "", &[], "Re: a"),
            msg(3, 20, "", &[], "A"),
            msg(4, 5, "", &[], "b"),
            msg(5, 20, "", &[], "a"),
        ];
        let t = ordered_subject(&msgs);
        assert_eq!(show(&msgs, t), "(4 1)(2 (3)(5))");
    }
}
