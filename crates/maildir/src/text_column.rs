//! The header texts SEARCH looks in, kept in memory with a snapshot of a
//! big folder: the first SEARCH of a field reads every message's record
//! from the index once, later ones (of any string, by any session that
//! shares the snapshot) only this column.

use crate::index::{Needle, TextsView};

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
    /// The column of `lists` for `count` messages: `each(i, add)` hands
    /// message `i`'s record to `add`, or does not call it when the index
    /// has none yet.
    pub fn build(
        lists: (usize, Option<usize>),
        count: usize,
        mut each: impl FnMut(usize, &mut dyn FnMut(&TextsView<'_>)),
    ) -> Option<TextColumn> {
        let (own, addresses) = lists;
        let mut text = String::new();
        let mut ends = Vec::with_capacity(count);
        let mut known = Vec::with_capacity(count);
        for i in 0..count {
            let mut found = false;
            each(i, &mut |view| {
                found = true;
                let texts = view
                    .texts(own)
                    .chain(addresses.into_iter().flat_map(|a| view.texts(a)));
                for t in texts {
                    text.push_str(t);
                    text.push('\0');
                }
            });
            known.push(found);
            ends.push(u32::try_from(text.len()).ok()?);
        }
        Some(TextColumn {
            lists,
            text,
            ends,
            known,
        })
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
