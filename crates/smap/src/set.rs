//! Message sets (spec §3.4) and the number lists the server writes in
//! `* EXPUNGE` and `* SEARCH` lines (§4, §5.14).

use crate::words::Words;

/// A message set: ranges of 1-based message numbers, ascending and
/// apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageSet {
    ranges: Vec<(u32, u32)>,
}

/// Why a message set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// No range at all.
    #[error("no message set")]
    Empty,
    /// A word that is not `n` or `a-b` with `a <= b`, or a range that does
    /// not come after the one before it.
    #[error("invalid message set")]
    Invalid,
}

impl MessageSet {
    /// Reads the set's words from `words`: every word up to the first
    /// that does not start with a digit, which is returned (empty at the
    /// end of the line) for the command to go on with.
    pub fn read(words: &mut Words<'_>) -> Result<(MessageSet, Vec<u8>), SetError> {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        loop {
            let word = words.next_word();
            if !word.first().is_some_and(u8::is_ascii_digit) {
                if ranges.is_empty() {
                    return Err(SetError::Empty);
                }
                return Ok((MessageSet { ranges }, word));
            }
            let text = std::str::from_utf8(&word).map_err(|_| SetError::Invalid)?;
            let (a, b) = text.split_once('-').unwrap_or((text, text));
            let (a, b) = (number(a)?, number(b)?);
            if b < a || ranges.last().is_some_and(|&(_, end)| a <= end) {
                return Err(SetError::Invalid);
            }
            ranges.push((a, b));
        }
    }

    /// The 0-based positions of the set's messages in a folder of `len`
    /// messages, ascending; numbers beyond it are left out.
    pub fn positions(&self, len: usize) -> impl Iterator<Item = usize> + '_ {
        self.ranges.iter().flat_map(move |&(a, b)| {
            let end = (b as usize).min(len);
            (a as usize - 1)..end
        })
    }
}

fn number(text: &str) -> Result<u32, SetError> {
    match text.parse::<u32>() {
        Ok(n) if n > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(SetError::Invalid),
    }
}

/// Writes `* EXPUNGE` lines for the 0-based `positions` (ascending) of
/// messages removed from the folder as the client numbers it, as
/// Courier does: runs as `a-b`, a new line after 101 messages, each line
/// numbered as the folder stands after the lines before it.
pub fn write_expunged(out: &mut Vec<u8>, positions: &[usize]) {
    let mut in_line = 0usize;
    let mut bias = 0usize;
    let mut run: Option<(usize, usize)> = None;
    for (removed, &pos) in positions.iter().enumerate() {
        if in_line > 100 {
            close_run(out, run.take(), bias);
            out.push(b'\n');
            in_line = 0;
        }
        if in_line == 0 {
            bias = removed;
            out.extend_from_slice(format!("* EXPUNGE {}", pos + 1 - bias).as_bytes());
            run = Some((pos, pos));
        } else if let Some((start, _)) = run.filter(|&(_, end)| end + 1 == pos) {
            run = Some((start, pos));
        } else {
            close_run(out, run.take(), bias);
            out.extend_from_slice(format!(" {}", pos + 1 - bias).as_bytes());
            run = Some((pos, pos));
        }
        in_line += 1;
    }
    if !positions.is_empty() {
        close_run(out, run, bias);
        out.push(b'\n');
    }
}

fn close_run(out: &mut Vec<u8>, run: Option<(usize, usize)>, bias: usize) {
    if let Some((start, end)) = run {
        if end > start {
            out.extend_from_slice(format!("-{}", end + 1 - bias).as_bytes());
        }
    }
}

/// Writes `* SEARCH` lines for the 1-based message numbers `hits`
/// (ascending), as Courier does: runs as `a-b`, a new line after 101
/// runs; nothing when there are none.
pub fn write_search(out: &mut Vec<u8>, hits: &[u32]) {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in hits {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    for (i, (start, end)) in runs.iter().enumerate() {
        if i % 101 == 0 {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(b"* SEARCH");
        }
        out.extend_from_slice(format!(" {start}").as_bytes());
        if end > start {
            out.extend_from_slice(format!("-{end}").as_bytes());
        }
    }
    if !runs.is_empty() {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Result<(MessageSet, Vec<u8>), SetError> {
        MessageSet::read(&mut Words::new(line.as_bytes()))
    }

    #[test]
    fn sets_are_ascending_ranges_apart() {
        let (set, next) = read("1 3-5 9 FLAGS").unwrap();
        assert_eq!(next, b"FLAGS");
        assert_eq!(set.positions(7).collect::<Vec<_>>(), [0, 2, 3, 4]);
        assert_eq!(read("2").unwrap().1, b"");
        assert_eq!(read("FLAGS"), Err(SetError::Empty));
        for bad in ["3 2", "2-1", "1-3 3", "0", "1-", "4x", "99999999999"] {
            assert_eq!(read(bad), Err(SetError::Invalid), "{bad}");
        }
    }

    #[test]
    fn expunge_lines_are_renumbered_per_line_as_courier_writes_them() {
        let mut out = Vec::new();
        write_expunged(&mut out, &[0, 1, 2, 5]);
        assert_eq!(out, b"* EXPUNGE 1-3 6\n");
        // Courier's test suite: 1-10 20-80 90-119 of 200, then the rest.
        let mut positions: Vec<usize> = (0..10).chain(19..80).chain(89..119).collect();
        positions.extend(119..130);
        let mut out = Vec::new();
        write_expunged(&mut out, &positions);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "* EXPUNGE 1-10 20-80 90-119");
        // 101 messages in the first line; the second line counts after them.
        assert_eq!(lines[1], "* EXPUNGE 19-29");
    }

    #[test]
    fn search_lines_hold_101_runs() {
        let mut out = Vec::new();
        write_search(&mut out, &[1, 2, 3, 7, 9, 10]);
        assert_eq!(out, b"* SEARCH 1-3 7 9-10\n");
        let hits: Vec<u32> = (1..=204).map(|n| n * 2).collect();
        let mut out = Vec::new();
        write_search(&mut out, &hits);
        let text = String::from_utf8(out).unwrap();
        let counts: Vec<usize> = text.lines().map(|l| l.split(' ').count() - 2).collect();
        assert_eq!(counts, [101, 101, 2]);
        let mut none = Vec::new();
        write_search(&mut none, &[]);
        assert!(none.is_empty());
    }
}
