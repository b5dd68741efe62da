//! Header block scanning: where a header ends, its fields, unfolding.

use crate::lines::lines;

/// One header field inside a message file, as byte ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    /// Start of the field (first byte of its name).
    pub start: usize,
    /// End of the field name (before optional WSP and the colon).
    pub name_end: usize,
    /// Start of the value (just after the colon).
    pub value_start: usize,
    /// End of the value (before the final line ending).
    pub value_end: usize,
    /// End of the field including its final line ending.
    pub end: usize,
}

impl Field {
    /// The field name.
    pub fn name<'a>(&self, msg: &'a [u8]) -> &'a [u8] {
        &msg[self.start..self.name_end]
    }
    /// The raw (folded) value.
    pub fn raw_value<'a>(&self, msg: &'a [u8]) -> &'a [u8] {
        &msg[self.value_start..self.value_end]
    }
    /// Whether the name equals `name`, ASCII case-insensitively.
    pub fn is(&self, msg: &[u8], name: &[u8]) -> bool {
        self.name(msg).eq_ignore_ascii_case(name)
    }
}

/// Finds the end of the header block starting at `start`.
///
/// Returns `(header_end, body_start)`: the header block is
/// `start..body_start` including the empty separator line; `header_end`
/// is where the separator line begins. Without a separator line the whole
/// range is header and the body is empty.
pub(crate) fn header_end(msg: &[u8], start: usize, end: usize) -> (usize, usize) {
    for l in lines(msg, start, end) {
        if l.content_end == l.start && l.end > l.start {
            return (l.start, l.end);
        }
    }
    let end = end.min(msg.len()).max(start.min(msg.len()));
    (end, end)
}

/// Splits the header block `start..end` into fields. Lines that are
/// neither a field nor a continuation (no colon) are skipped.
pub(crate) fn fields(msg: &[u8], start: usize, end: usize) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    let mut current: Option<Field> = None;
    for l in lines(msg, start, end) {
        let text = &msg[l.start..l.content_end];
        if text.is_empty() {
            break;
        }
        if text[0] == b' ' || text[0] == b'\t' {
            if let Some(f) = current.as_mut() {
                f.value_end = l.content_end;
                f.end = l.end;
            }
            continue;
        }
        if let Some(f) = current.take() {
            out.push(f);
        }
        if let Some(colon) = text.iter().position(|&b| b == b':') {
            let mut name_end = l.start + colon;
            while name_end > l.start && matches!(msg[name_end - 1], b' ' | b'\t') {
                name_end -= 1;
            }
            if name_end > l.start {
                current = Some(Field {
                    start: l.start,
                    name_end,
                    value_start: l.start + colon + 1,
                    value_end: l.content_end,
                    end: l.end,
                });
            }
        }
    }
    if let Some(f) = current.take() {
        out.push(f);
    }
    out
}

/// Unfolds a header value: removes CR and LF, keeping the folding
/// whitespace, as RFC 5322 unfolding does.
pub(crate) fn unfold(raw: &[u8]) -> Vec<u8> {
    raw.iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect()
}

/// Trims ASCII whitespace on both ends.
pub(crate) fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    &b[s..e.max(s)]
}

/// Unfolded, trimmed value; `None` when empty.
pub(crate) fn clean_value(raw: &[u8]) -> Option<Vec<u8>> {
    let u = unfold(raw);
    let t = trim(&u);
    if t.is_empty() {
        None
    } else {
        Some(t.to_vec())
    }
}

/// First field named `name` in `fields`, unfolded (not trimmed).
pub(crate) fn first<'a>(msg: &'a [u8], fields: &[Field], name: &[u8]) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|f| f.is(msg, name))
        .map(|f| f.raw_value(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_header_end() {
        let m = b"A: b\r\nC: d\r\n\r\nbody";
        assert_eq!(header_end(m, 0, m.len()), (12, 14));
        let m = b"A: b\nC: d\n\nbody\n";
        assert_eq!(header_end(m, 0, m.len()), (10, 11));
        let m = b"A: b\nC: d";
        assert_eq!(header_end(m, 0, m.len()), (9, 9));
        let m = b"\nbody";
        assert_eq!(header_end(m, 0, m.len()), (0, 1));
        assert_eq!(header_end(b"", 0, 0), (0, 0));
    }

    #[test]
    fn splits_fields() {
        let m = b"Subject: hi\r\n there\r\nFrom : x\r\ngarbage\r\nTo: y\r\n\r\nX: no";
        let f = fields(m, 0, m.len());
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].name(m), b"Subject");
        assert_eq!(unfold(f[0].raw_value(m)), b" hi there");
        assert_eq!(f[1].name(m), b"From");
        assert!(f[1].is(m, b"from"));
        assert_eq!(f[2].raw_value(m), b" y");
        assert_eq!(clean_value(b" a\r\n\tb "), Some(b"a\tb".to_vec()));
        assert_eq!(clean_value(b"  \r\n "), None);
    }
}
