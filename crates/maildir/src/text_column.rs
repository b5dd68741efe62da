//! The header texts SEARCH looks in, kept in memory with a snapshot of a
//! big folder: the first SEARCH of a field reads every message's record
//! from the index once, later ones (of any string, by any session that
//! shares the snapshot) only this column.

use crate::index::{MessageFacts, Needle};

/// Folders smaller than this are searched message by message: reading
/// their index records costs little.
pub(crate) const MIN_MESSAGES: usize = 1000;

/// One field's folded texts (the kept field, and an address field's
/// addresses), per message of a snapshot, in its order.
#[derive(Debug)]
pub(crate) struct TextColumn {
    /// What the column holds (`search_lists`).
    pub lists: (usize, Option<usize>),
    /// Every message's texts, each followed by a NUL (which folded text
    /// does not hold).
    text: String,
    /// Where each message's texts end in `text`.
    ends: Vec<u32>,
    /// Whether the index had the message's record.
    known: Vec<bool>,
}

impl TextColumn {
    /// The column of `lists` for messages whose facts `each` gives, in
    /// order (`None`: not in the index yet).
    pub fn build(
        lists: (usize, Option<usize>),
        count: usize,
        mut each: impl FnMut(usize) -> Option<MessageFacts>,
    ) -> Option<TextColumn> {
        let mut c = TextColumn {
            lists,
            text: String::new(),
            ends: Vec::with_capacity(count),
            known: Vec::with_capacity(count),
        };
        for i in 0..count {
            let facts = each(i);
            if let Some(f) = &facts {
                let (own, addresses) = lists;
                for t in f
                    .texts(own)
                    .chain(addresses.into_iter().flat_map(|a| f.texts(a)))
                {
                    c.text.push_str(t);
                    c.text.push('\0');
                }
            }
            c.known.push(facts.is_some());
            c.ends.push(u32::try_from(c.text.len()).ok()?);
        }
        Some(c)
    }

    /// Whether message `i`'s texts hold `needle`; `None` if the index did
    /// not have its record.
    pub fn contains(&self, i: usize, needle: &Needle) -> Option<bool> {
        if !*self.known.get(i)? {
            return None;
        }
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        let texts = &self.text[start..self.ends[i] as usize];
        if needle.is_empty() {
            return Some(!texts.is_empty());
        }
        Some(texts.split_terminator('\0').any(|t| needle.found_in(t)))
    }
}
