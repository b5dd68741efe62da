//! The words of an SMAP command line (spec §3.1) and the quoting of the
//! words the server writes (§3.2).
//!
//! Words are separated by runs of space, tab and CR. A word that starts
//! with `"` runs to the next lone `"`, a doubled `""` inside standing for
//! one quote; there are no backslash escapes, and a quote inside an
//! unquoted word is an ordinary character. The end of the line reads as
//! an empty word, again and again, which is what ends a folder path.

/// A cursor over the words of one command line (without its LF).
#[derive(Debug, Clone)]
pub struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    /// The words of `line`.
    pub fn new(line: &'a [u8]) -> Words<'a> {
        Words { rest: line }
    }

    /// The next word; empty at the end of the line (and for `""`).
    pub fn next_word(&mut self) -> Vec<u8> {
        let start = self
            .rest
            .iter()
            .position(|b| !is_space(*b))
            .unwrap_or(self.rest.len());
        self.rest = &self.rest[start..];
        let mut word = Vec::new();
        if let Some(quoted) = self.rest.strip_prefix(b"\"") {
            let mut i = 0;
            while i < quoted.len() {
                if quoted[i] == b'"' {
                    if quoted.get(i + 1) == Some(&b'"') {
                        word.push(b'"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                word.push(quoted[i]);
                i += 1;
            }
            self.rest = &quoted[i..];
        } else {
            let end = self
                .rest
                .iter()
                .position(|b| is_space(*b))
                .unwrap_or(self.rest.len());
            word.extend_from_slice(&self.rest[..end]);
            self.rest = &self.rest[end..];
        }
        word
    }

    /// Whether only white space is left.
    pub fn at_end(&self) -> bool {
        self.rest.iter().all(|b| is_space(*b))
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

/// Appends `word` quoted: in `"`, with every `"` doubled.
pub fn quote_into(out: &mut Vec<u8>, word: &[u8]) {
    out.push(b'"');
    for &b in word {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(line: &str) -> Vec<String> {
        let mut w = Words::new(line.as_bytes());
        let mut out = Vec::new();
        while !w.at_end() {
            out.push(String::from_utf8(w.next_word()).unwrap());
        }
        out
    }

    #[test]
    fn quoting_doubles_quotes_and_has_no_escapes() {
        assert_eq!(
            words("LIST INBOX \"Learning the \"\"ABC\"\"'s\" a\"b \"\" \\x\r"),
            ["LIST", "INBOX", "Learning the \"ABC\"'s", "a\"b", "", "\\x"]
        );
        let mut w = Words::new(b"  OPEN\tINBOX");
        assert_eq!(w.next_word(), b"OPEN");
        assert_eq!(w.next_word(), b"INBOX");
        // The end of the line is an empty word, as often as asked.
        assert_eq!(w.next_word(), b"");
        assert_eq!(w.next_word(), b"");
        // An unterminated quote runs to the end of the line.
        assert_eq!(Words::new(b"\"open end").next_word(), b"open end");
    }

    proptest! {
        #[test]
        fn a_quoted_word_reads_back(word in proptest::collection::vec(any::<u8>(), 0..40), next in "[a-z]{1,5}") {
            let mut line = Vec::new();
            quote_into(&mut line, &word);
            line.push(b' ');
            line.extend_from_slice(next.as_bytes());
            let mut w = Words::new(&line);
            prop_assert_eq!(w.next_word(), word);
            prop_assert_eq!(w.next_word(), next.as_bytes());
        }
    }
}
