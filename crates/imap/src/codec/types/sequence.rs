//! Sequence sets (RFC 3501 §9 `sequence-set`, semantics in §6.4.8 and
//! RFC 9051 §9 "seq-range").

use std::fmt;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// A non-zero message sequence number or UID.
    Value(u32),
    /// `*`: the largest number in use (RFC 3501 §9 `seq-number`).
    Star,
}

impl SeqNum {
    fn resolve(self, max: u32) -> u32 {
        match self {
            SeqNum::Value(v) => v,
            SeqNum::Star => max,
        }
    }
}

/// `a` or `a:b` as written (either end may be `*`; `b` may be below `a`,
/// RFC 3501 §9: "4:2" is "2:4").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First end as written.
    pub start: SeqNum,
    /// Second end as written (equal to `start` for a single number).
    pub end: SeqNum,
}

/// A parsed, non-empty sequence set as the client wrote it. Its length is
/// bounded by [`Limits::max_sequence_ranges`](crate::codec::Limits) at parse
/// time. Resolve it against the mailbox's largest sequence number or UID
/// before use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SequenceSet(pub Vec<SeqRange>);

impl SequenceSet {
    /// A set of one number.
    pub fn single(n: u32) -> Self {
        SequenceSet(vec![SeqRange {
            start: SeqNum::Value(n),
            end: SeqNum::Value(n),
        }])
    }

    /// A set of one range `a:b`.
    pub fn range(a: SeqNum, b: SeqNum) -> Self {
        SequenceSet(vec![SeqRange { start: a, end: b }])
    }

    /// The ranges as written.
    pub fn ranges(&self) -> &[SeqRange] {
        &self.0
    }

    /// Sorted, merged, inclusive `(low, high)` ranges with every number in
    /// `1..=max`, `*` replaced by `max`.
    ///
    /// For message sequence numbers pass the message count; numbers above it
    /// are dropped (the session decides whether that is a `BAD`, RFC 3501
    /// §9 "seq-number"; see [`SequenceSet::exceeds`]). For UIDs pass the
    /// largest UID in use (RFC 3501 §6.4.8: `UID 5:*` with largest UID 3
    /// still includes 3) and intersect with existing UIDs. With `max == 0`
    /// (empty mailbox) the result is empty.
    pub fn resolve(&self, max: u32) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(self.0.len());
        if max == 0 {
            return out;
        }
        for r in &self.0 {
            let a = r.start.resolve(max);
            let b = r.end.resolve(max);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let lo = lo.max(1);
            let hi = hi.min(max);
            if lo <= hi {
                out.push((lo, hi));
            }
        }
        out.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(out.len());
        for (lo, hi) in out {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        merged
    }

    /// Every number of [`resolve`](Self::resolve)`(max)` in ascending order,
    /// each once. At most `max` items.
    pub fn iter(&self, max: u32) -> impl Iterator<Item = u32> {
        self.resolve(max).into_iter().flat_map(|(lo, hi)| lo..=hi)
    }

    /// Whether some explicit number is above `max` — for message sequence
    /// numbers that makes the command invalid (RFC 9051 §6.4.5 lets the
    /// server answer `BAD`).
    pub fn exceeds(&self, max: u32) -> bool {
        self.0.iter().any(|r| {
            matches!(r.start, SeqNum::Value(v) if v > max)
                || matches!(r.end, SeqNum::Value(v) if v > max)
        })
    }

    /// Whether `*` appears anywhere.
    pub fn has_star(&self) -> bool {
        self.0
            .iter()
            .any(|r| r.start == SeqNum::Star || r.end == SeqNum::Star)
    }

    /// Build the shortest set covering exactly `numbers` (any order,
    /// duplicates allowed), for COPYUID/APPENDUID response codes
    /// (RFC 4315 §3). `None` if `numbers` is empty or contains 0.
    pub fn from_numbers(numbers: &[u32]) -> Option<SequenceSet> {
        if numbers.is_empty() || numbers.contains(&0) {
            return None;
        }
        let mut sorted = numbers.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        Some(Self::from_sorted_runs(&sorted))
    }

    /// Like [`from_numbers`](Self::from_numbers) but keeps the given order,
    /// only collapsing consecutive ascending runs — COPYUID needs the source
    /// and destination sets in corresponding order (RFC 4315 §3).
    pub fn from_numbers_ordered(numbers: &[u32]) -> Option<SequenceSet> {
        if numbers.is_empty() || numbers.contains(&0) {
            return None;
        }
        Some(Self::from_sorted_runs(numbers))
    }

    fn from_sorted_runs(numbers: &[u32]) -> SequenceSet {
        let mut ranges: Vec<SeqRange> = Vec::new();
        let mut iter = numbers.iter().copied();
        let Some(first) = iter.next() else {
            return SequenceSet(ranges);
        };
        let (mut lo, mut hi) = (first, first);
        for n in iter {
            if hi.checked_add(1) == Some(n) {
                hi = n;
            } else {
                ranges.push(SeqRange {
                    start: SeqNum::Value(lo),
                    end: SeqNum::Value(hi),
                });
                lo = n;
                hi = n;
            }
        }
        ranges.push(SeqRange {
            start: SeqNum::Value(lo),
            end: SeqNum::Value(hi),
        });
        SequenceSet(ranges)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNum::Value(v) => write!(f, "{v}"),
            SeqNum::Star => f.write_str("*"),
        }
    }
}

/// Wire form, e.g. `1:4,7,9:*`.
impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.start == r.end {
                write!(f, "{}", r.start)?;
            } else {
                write!(f, "{}:{}", r.start, r.end)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &[(SeqNum, SeqNum)]) -> SequenceSet {
        SequenceSet(
            s.iter()
                .map(|&(start, end)| SeqRange { start, end })
                .collect(),
        )
    }

    #[test]
    fn resolve_merges_and_clips() {
        use SeqNum::*;
        let s = set(&[
            (Value(5), Value(3)),
            (Value(4), Star),
            (Value(20), Value(30)),
        ]);
        assert_eq!(s.resolve(10), vec![(3, 10)]);
        assert_eq!(s.iter(6).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
        assert!(s.resolve(0).is_empty());
        assert!(s.exceeds(10));
        assert!(!s.exceeds(30));
        // UID 5:* with largest UID 3 includes 3.
        assert_eq!(set(&[(Value(5), Star)]).resolve(3), vec![(3, 3)]);
        assert!(s.iter(10).all(|n| n >= 3));
    }

    #[test]
    fn from_numbers() {
        let s = SequenceSet::from_numbers(&[5, 1, 2, 3, 9, 10]).unwrap();
        assert_eq!(s.to_string(), "1:3,5,9:10");
        let s = SequenceSet::from_numbers_ordered(&[7, 8, 3]).unwrap();
        assert_eq!(s.to_string(), "7:8,3");
        assert!(SequenceSet::from_numbers(&[]).is_none());
        assert!(SequenceSet::from_numbers(&[0]).is_none());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Whether `n` is in the set when `*` means `max`, range by range:
    /// the plain reading `resolve` is checked against.
    fn contains(set: &SequenceSet, n: u32, max: u32) -> bool {
        set.0.iter().any(|r| {
            let a = r.start.resolve(max);
            let b = r.end.resolve(max);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            lo <= n && n <= hi
        })
    }

    fn num() -> impl Strategy<Value = SeqNum> {
        prop_oneof![Just(SeqNum::Star), (1u32..60).prop_map(SeqNum::Value)]
    }

    proptest! {
        #[test]
        fn resolve_agrees_with_contains(
            ranges in proptest::collection::vec((num(), num()), 1..6),
            max in 0u32..50,
        ) {
            let set = SequenceSet(ranges.into_iter().map(|(start, end)| SeqRange { start, end }).collect());
            let resolved = set.resolve(max);
            for w in resolved.windows(2) {
                // Sorted, disjoint and not adjacent (merged).
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
            let listed: Vec<u32> = set.iter(max).collect();
            for n in 1..=max {
                prop_assert_eq!(listed.contains(&n), contains(&set, n, max));
            }
            prop_assert!(listed.iter().all(|&n| n >= 1 && n <= max));
            // Display / parse round trip through the command parser.
            let line = format!("a UID FETCH {set} UID\r\n");
            let mut d = crate::codec::Decoder::default();
            let mut buf = line.into_bytes();
            match d.decode(&mut buf) {
                crate::codec::Event::Command { command: crate::codec::Command::Fetch { set: parsed, .. }, .. } => {
                    prop_assert_eq!(parsed, set);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
