//! `sequence-set` (RFC 3501 §9; RFC 9051 §9 `seq-range`).

use super::{Error, Parser};
use crate::codec::types::{SeqNum, SeqRange, SequenceSet};

impl Parser<'_> {
    fn seq_number(&mut self) -> Result<SeqNum, Error> {
        if self.eat(b'*') {
            Ok(SeqNum::Star)
        } else {
            Ok(SeqNum::Value(self.nz_number()?))
        }
    }

    /// Whether a sequence set starts here (a digit or `*`).
    pub(crate) fn at_sequence_set(&self) -> bool {
        self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'*')
    }

    /// `sequence-set`, at most `max_sequence_ranges` elements.
    pub(crate) fn sequence_set(&mut self) -> Result<SequenceSet, Error> {
        let mut ranges = Vec::new();
        loop {
            let start = self.seq_number()?;
            let end = if self.eat(b':') {
                self.seq_number()?
            } else {
                start
            };
            if ranges.len() >= self.limits().max_sequence_ranges {
                return Err(Error::TooManyRanges);
            }
            ranges.push(SeqRange { start, end });
            if !self.eat(b',') {
                break;
            }
        }
        Ok(SequenceSet(ranges))
    }
}
