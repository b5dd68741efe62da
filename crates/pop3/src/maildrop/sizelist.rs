//! `courierpop3dsizelist`: Courier pop3d's cache of message sizes and
//! POP3 UIDs, read and written byte for byte as Courier does
//! (`imap/pop3dserver.C` in courier-libs: `readpop3dlist`,
//! `savepop3dlist`, `msglist::operator<`, `sortmsgs`, `print_uidl`).
//!
//! Format (`LISTVERSION` 3; version 2 is read and rewritten as 3):
//!
//! ```text
//! /3 <nextuid> <uidvalidity>\n
//! <file name in cur/, flags included> <CRLF size> <uid>:<uidvalidity>:<utf8 0|1>\n
//! ...
//! ```
//!
//! Version 2 lines lack the `:<utf8>` field. Parsing follows Courier's
//! `sscanf`-based reader exactly, quirks included (see [`parse`]).
//!
//! UIDLs: `UID<uid>-<uidvalidity>`, or `UID<uid>` when the line's
//! uidvalidity is 0; a line whose uid is 0 (lists from before version 1)
//! gives the file name up to `:` with bytes outside `!`..`~` and `'`, `"`,
//! `+` written as `+XX` (upper-case hex).

use std::cmp::Ordering;

/// The version Courier writes.
pub const LIST_VERSION: i64 = 3;
/// The file's name in the maildir.
pub const SIZELIST_FILE: &str = "courierpop3dsizelist";

/// Courier reads at most this many bytes of a line (`linebuf[2048]`, less
/// the 20 it keeps free for appending `:0`); the rest is dropped.
const MAX_LINE: usize = 2048 - 20;

/// One message line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name in `cur/` (with flags), as raw bytes.
    pub name: Vec<u8>,
    /// Size with CRLF line ends.
    pub size: u64,
    /// POP3 UID number (0: pre-version-1 entry, UIDL from the file name).
    pub uid: u64,
    /// The uidvalidity this UID was given under (0: none printed).
    pub uidv: u64,
    /// The message has 8-bit headers (Courier's "UTF-8 message").
    pub utf8: bool,
}

impl Entry {
    /// The UIDL Courier prints for this entry (RFC 1939 §7 unique-id).
    pub fn uidl(&self) -> String {
        if self.uid != 0 {
            if self.uidv != 0 {
                return format!("UID{}-{}", self.uid, self.uidv);
            }
            return format!("UID{}", self.uid);
        }
        let mut s = String::new();
        for &b in self.name.iter().take_while(|&&b| b != b':') {
            if !(0x21..=0x7e).contains(&b) || b == b'\'' || b == b'"' || b == b'+' {
                s.push_str(&format!("+{b:02X}"));
            } else {
                s.push(char::from(b));
            }
        }
        s
    }
}

/// A parsed list: what Courier's `readpop3dlist` leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeList {
    /// The next uid to give (`1` when the header is unusable, unless a
    /// partly matching header already set it, as Courier's `sscanf` does).
    pub nextuid: u64,
    /// The uidvalidity for new messages (`None`: the header gave none, so
    /// Courier uses the current time).
    pub uidv: Option<u64>,
    /// Entries, sorted in Courier's message order ([`compare_names`]).
    pub entries: Vec<Entry>,
    /// The list was version 2 and must be rewritten.
    pub upgrade: bool,
}

/// Parses `courierpop3dsizelist` (`None` for a missing file) exactly as
/// Courier's `readpop3dlist` does:
///
/// * the header must start with `/` and `sscanf("%d %lu %lu")` must convert
///   at least two numbers with a version of 2 or 3; otherwise every entry is
///   ignored — but the numbers `sscanf` did convert are kept (Courier
///   passes its `nextuid` and `uidv` variables straight to `sscanf`);
/// * each later line (only lines ending in `\n`; at most 2028 bytes kept)
///   is split at its last two spaces: name, size, and `uid:uidv[:utf8]`
///   (`:0` is appended before `sscanf("%lu %lu:%lu:%d")`, which must
///   convert all four); an empty name or a failed conversion drops the
///   line;
/// * entries are then sorted by [`compare_names`].
pub fn parse(data: Option<&[u8]>) -> SizeList {
    let mut list = SizeList {
        nextuid: 1,
        uidv: None,
        entries: Vec::new(),
        upgrade: false,
    };
    let Some(data) = data else { return list };
    // fgets(linebuf, sizeof(linebuf)-1): at most 2046 bytes of the first line.
    let first_end = data
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |i| i + 1);
    let header = &data[..first_end.min(2046)];
    let rest = &data[header.len()..];
    if header.first() != Some(&b'/') {
        return list;
    }
    let mut scan = Scanf::new(&header[1..]);
    let version = scan.int();
    let mut converted = usize::from(version.is_some());
    if version.is_some() {
        if let Some(n) = scan.ulong() {
            list.nextuid = n;
            converted += 1;
            if let Some(v) = scan.ulong() {
                list.uidv = Some(v);
            }
        }
    }
    let version = version.unwrap_or(0);
    if converted < 2 || (version != LIST_VERSION && version != LIST_VERSION - 1) {
        return list;
    }
    list.upgrade = version != LIST_VERSION;
    let mut start = 0;
    let mut fields = Vec::new();
    // Courier only acts on a line with its newline.
    for end in memchr::memchr_iter(b'\n', rest) {
        let line = &rest[start..end];
        start = end + 1;
        let line = &line[..line.len().min(MAX_LINE)];
        if let Some(e) = parse_entry(line, &mut fields) {
            list.entries.push(e);
        }
    }
    // Courier writes the list in order; sort only one that is not.
    if !list
        .entries
        .is_sorted_by(|a, b| compare_names(&a.name, &b.name) != Ordering::Greater)
    {
        list.entries = sort_names(list.entries, |e| &e.name);
    }
    list
}

/// One entry line; `fields` is scratch space, reused from line to line.
fn parse_entry(line: &[u8], fields: &mut Vec<u8>) -> Option<Entry> {
    // The C string ends at the first NUL.
    let line = &line[..memchr::memchr(0, line).unwrap_or(line.len())];
    let last = memchr::memrchr(b' ', line)?;
    let second = memchr::memrchr(b' ', &line[..last])?;
    let name = &line[..second];
    if name.is_empty() {
        return None;
    }
    // Courier appends ":0" so that version 2 lines convert a utf8 of 0.
    fields.clear();
    fields.extend_from_slice(&line[second + 1..]);
    fields.extend_from_slice(b":0");
    let mut scan = Scanf::new(fields);
    let size = scan.ulong()?;
    let uid = scan.ulong()?;
    scan.literal(b':')?;
    let uidv = scan.ulong()?;
    scan.literal(b':')?;
    let utf8 = scan.int()?;
    Some(Entry {
        name: name.to_vec(),
        size,
        uid,
        uidv,
        utf8: utf8 != 0,
    })
}

/// The subset of C `sscanf` conversions Courier's reader uses, with glibc's
/// behaviour: `%d`/`%lu` skip white space, take an optional sign and
/// decimal digits (a `-` on `%lu` negates modulo 2^64), and saturate on
/// overflow; a blank in the format matches any white space, a literal must
/// match exactly.
struct Scanf<'a> {
    s: &'a [u8],
}

impl<'a> Scanf<'a> {
    fn new(s: &'a [u8]) -> Self {
        Scanf { s }
    }

    fn skip_space(&mut self) {
        while let [b, rest @ ..] = self.s {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
                break;
            }
            self.s = rest;
        }
    }

    fn literal(&mut self, c: u8) -> Option<()> {
        match self.s {
            [b, rest @ ..] if *b == c => {
                self.s = rest;
                Some(())
            }
            _ => None,
        }
    }

    /// Sign and magnitude (saturated at u64::MAX).
    fn number(&mut self) -> Option<(bool, u64)> {
        self.skip_space();
        let mut neg = false;
        if let [s @ (b'+' | b'-'), rest @ ..] = self.s {
            neg = *s == b'-';
            self.s = rest;
        }
        let digits = self.s.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let mut v: u64 = 0;
        for &d in &self.s[..digits] {
            v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
        }
        self.s = &self.s[digits..];
        Some((neg, v))
    }

    fn ulong(&mut self) -> Option<u64> {
        self.number()
            .map(|(neg, v)| if neg { v.wrapping_neg() } else { v })
    }

    fn int(&mut self) -> Option<i64> {
        self.number().map(|(neg, v)| {
            let v = i64::try_from(v).unwrap_or(i64::MAX);
            if neg {
                -v
            } else {
                v
            }
        })
    }
}

/// C `atol` on a file name: leading white space, optional sign, digits,
/// saturating (glibc's `strtol`).
fn atol(s: &[u8]) -> i64 {
    let mut scan = Scanf::new(s);
    match scan.number() {
        Some((neg, v)) => {
            if neg {
                // LONG_MIN on overflow.
                0i64.checked_sub_unsigned(v).unwrap_or(i64::MIN)
            } else {
                i64::try_from(v).unwrap_or(i64::MAX)
            }
        }
        None => 0,
    }
}

/// The part of a path after its last `/`.
fn file_part(name: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', name) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// A name's place in Courier's message order (`msglist::operator<`): the
/// number the file name starts with (its delivery time), then the name byte
/// by byte as signed `char`s until both names reach `:` at the same place
/// (or end). Two names are "the same message" when their keys are equal.
///
/// The key holds the number and the name up to its first `:` (included) or
/// NUL, so a sort converts each name once instead of per comparison
/// (sorting 100,000 names compared them 1.7 million times).
#[derive(Debug, Clone, Copy)]
pub struct NameKey<'a> {
    time: i64,
    prefix: &'a [u8],
}

/// The [`NameKey`] of a file name (a path's last part is used).
pub fn name_key(name: &[u8]) -> NameKey<'_> {
    let part = file_part(name);
    let prefix = match memchr::memchr2(b':', 0, part) {
        Some(i) if part[i] == b':' => &part[..=i],
        Some(i) => &part[..i],
        None => part,
    };
    NameKey {
        time: atol(part),
        prefix,
    }
}

impl Ord for NameKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time.cmp(&other.time).then_with(|| {
            let (a, b) = (self.prefix, other.prefix);
            // `char` is signed on the platforms Courier runs on.
            let signed = |s: &[u8], i: usize| s.get(i).map_or(0, |&c| c as i8);
            let n = a.len().min(b.len());
            match a[..n].iter().zip(&b[..n]).position(|(x, y)| x != y) {
                Some(i) => signed(a, i).cmp(&signed(b, i)),
                // A prefix ending in `:` met a `:` in the other name too, so
                // both end here; otherwise the shorter one's NUL decides.
                None => signed(a, n).cmp(&signed(b, n)),
            }
        })
    }
}

impl PartialOrd for NameKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NameKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NameKey<'_> {}

/// Courier's message order of two file names (see [`NameKey`]).
pub fn compare_names(a: &[u8], b: &[u8]) -> Ordering {
    name_key(a).cmp(&name_key(b))
}

/// `items` sorted in Courier's message order of their names; items of the
/// same message keep their order.
pub fn sort_names<T>(items: Vec<T>, name: impl Fn(&T) -> &[u8]) -> Vec<T> {
    let mut keyed: Vec<(NameKey<'_>, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (name_key(name(t)), i))
        .collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Writes the list as Courier's `savepop3dlist` does.
pub fn serialize(nextuid: u64, uidv: u64, entries: &[Entry]) -> Vec<u8> {
    let mut out = format!("/{LIST_VERSION} {nextuid} {uidv}\n").into_bytes();
    for e in entries {
        out.extend_from_slice(file_part(&e.name));
        out.extend_from_slice(
            format!(" {} {}:{}:{}\n", e.size, e.uid, e.uidv, u8::from(e.utf8)).as_bytes(),
        );
    }
    out
}

/// What [`reconcile`] decided for one message found in `cur/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// The list had it: size, uid and utf8 come from this entry.
    Listed(Entry),
    /// New: it gets `uid` under `uidv`; its size must be computed.
    New {
        /// The uid given.
        uid: u64,
        /// The uidvalidity given.
        uidv: u64,
    },
}

/// The merge of Courier's `sortmsgs`: `names` (already sorted with
/// [`compare_names`]) against the list. Returns, for each name, what is
/// known; the next uid; the uidvalidity in force; and whether the list
/// must be saved (new messages, vanished ones, or a version upgrade).
pub fn reconcile(names: &[Vec<u8>], list: SizeList, now: u64) -> (Vec<Known>, u64, u64, bool) {
    let uidv = list.uidv.unwrap_or(now);
    let mut nextuid = list.nextuid;
    let mut save = list.upgrade;
    let mut prev = list.entries.into_iter().peekable();
    let mut known = Vec::with_capacity(names.len());
    for name in names {
        // Usually the list and cur/ hold the same names: no key needed.
        if prev.peek().is_some_and(|p| p.name == *name) {
            if let Some(p) = prev.next() {
                known.push(Known::Listed(p));
                continue;
            }
        }
        let key = name_key(name);
        while prev.peek().is_some_and(|p| name_key(&p.name) < key) {
            prev.next();
            save = true;
        }
        if prev.peek().is_some_and(|p| name_key(&p.name) == key) {
            if let Some(p) = prev.next() {
                known.push(Known::Listed(p));
                continue;
            }
        }
        known.push(Known::New { uid: nextuid, uidv });
        nextuid = nextuid.wrapping_add(1);
        save = true;
    }
    if prev.next().is_some() {
        save = true;
    }
    (known, nextuid, uidv, save)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, size: u64, uid: u64, uidv: u64) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            size,
            uid,
            uidv,
            utf8: false,
        }
    }

    #[test]
    fn reads_version_3_and_2_lines() {
        let data = b"/3 7 1700000000\n\
            1000.a.host:2,S 120 5:1700000000:1\n\
            999.b.host 60 6:1700000000\n";
        let l = parse(Some(data));
        assert_eq!(l.nextuid, 7);
        assert_eq!(l.uidv, Some(1_700_000_000));
        assert!(!l.upgrade);
        // sorted by the leading number
        assert_eq!(l.entries[0], entry("999.b.host", 60, 6, 1_700_000_000));
        let mut e = entry("1000.a.host:2,S", 120, 5, 1_700_000_000);
        e.utf8 = true;
        assert_eq!(l.entries[1], e);
        assert_eq!(l.entries[1].uidl(), "UID5-1700000000");

        let v2 = parse(Some(b"/2 3 42\nx.y 10 1:42\n"));
        assert!(v2.upgrade);
        assert_eq!(v2.entries, vec![entry("x.y", 10, 1, 42)]);
    }

    #[test]
    fn header_quirks_match_sscanf() {
        // No uidvalidity: the current time is used.
        let l = parse(Some(b"/3 9\n"));
        assert_eq!((l.nextuid, l.uidv), (9, None));
        // Unknown version: entries ignored but the numbers were converted.
        let l = parse(Some(b"/4 9 77\na.b 1 1:77\n"));
        assert_eq!((l.nextuid, l.uidv, l.entries.len()), (9, Some(77), 0));
        // Not a list at all.
        let l = parse(Some(b"3 9 77\na.b 1 1:77\n"));
        assert_eq!((l.nextuid, l.uidv), (1, None));
        assert_eq!(parse(None).nextuid, 1);
        assert_eq!(parse(Some(b"")).nextuid, 1);
    }

    #[test]
    fn bad_lines_are_dropped_and_names_may_hold_spaces() {
        let l = parse(Some(
            b"/3 5 9\n 1 1:9:0\nno-fields\nx y z\nsp ace 3 2:9:0\ntrailing 4 3:9:0",
        ));
        // " 1 1:9:0" has an empty name; "trailing" lacks a newline.
        assert_eq!(l.entries, vec![entry("sp ace", 3, 2, 9)]);
    }

    #[test]
    fn uidl_forms() {
        assert_eq!(entry("n", 1, 4, 0).uidl(), "UID4");
        assert_eq!(entry("a+b c'd:2,S", 1, 0, 0).uidl(), "a+2Bb+20c+27d");
    }

    /// `msglist::operator<` as Courier writes it, one comparison at a time.
    fn courier_loop(a: &[u8], b: &[u8]) -> Ordering {
        let (a, b) = (file_part(a), file_part(b));
        match atol(a).cmp(&atol(b)) {
            Ordering::Equal => {}
            o => return o,
        }
        let mut i = 0;
        loop {
            let ca = a.get(i).copied().unwrap_or(0);
            let cb = b.get(i).copied().unwrap_or(0);
            if (ca == 0 && cb == 0) || (ca == b':' && cb == b':') {
                return Ordering::Equal;
            }
            match (ca as i8).cmp(&(cb as i8)) {
                Ordering::Equal => i += 1,
                o => return o,
            }
        }
    }

    #[test]
    fn order_is_numeric_then_signed_bytes_up_to_colon() {
        assert_eq!(compare_names(b"99.x", b"100.x"), Ordering::Less);
        assert_eq!(
            compare_names(b"cur/5.a:2,S", b"5.a:2,"),
            Ordering::Equal,
            "same message with other flags"
        );
        assert_eq!(compare_names(b"5.a", b"5.a:2,"), Ordering::Less);
        // 0x80 is negative as a signed char.
        assert_eq!(compare_names(b"5.\x80", b"5.a"), Ordering::Less);
        assert_eq!(compare_names(b"x", b"-1x"), Ordering::Greater);
    }

    #[test]
    fn reconcile_keeps_known_gives_new_uids_and_notices_changes() {
        let list = parse(Some(b"/3 10 500\n1.a:2, 11 8:500:0\n3.c:2,S 33 9:500:0\n"));
        let names: Vec<Vec<u8>> = vec![b"1.a:2,S".to_vec(), b"2.b:2,".to_vec()];
        let (known, next, uidv, save) = reconcile(&names, list, 999);
        assert_eq!(
            known,
            vec![
                Known::Listed(entry("1.a:2,", 11, 8, 500)),
                Known::New { uid: 10, uidv: 500 }
            ]
        );
        assert_eq!((next, uidv, save), (11, 500, true));

        let list = parse(Some(b"/3 10 500\n1.a:2, 11 8:500:0\n"));
        let (_, _, _, save) = reconcile(&[b"1.a:2,T".to_vec()], list, 999);
        assert!(!save, "nothing changed");

        let (known, next, uidv, _) = reconcile(&[b"1.a".to_vec()], parse(None), 999);
        assert_eq!(known, vec![Known::New { uid: 1, uidv: 999 }]);
        assert_eq!((next, uidv), (2, 999));
    }

    #[test]
    fn serialize_round_trips() {
        let entries = vec![entry("1.a:2,S", 11, 1, 7), entry("2.b", 3, 2, 7)];
        let data = serialize(3, 7, &entries);
        assert_eq!(data, b"/3 3 7\n1.a:2,S 11 1:7:0\n2.b 3 2:7:0\n");
        let l = parse(Some(&data));
        assert_eq!(l.entries, entries);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(data: Vec<u8>) {
            let _ = parse(Some(&data));
        }

        #[test]
        fn compare_is_consistent(a: Vec<u8>, b: Vec<u8>) {
            proptest::prop_assert_eq!(compare_names(&a, &b), compare_names(&b, &a).reverse());
        }

        #[test]
        fn keys_order_as_courier_loop(
            a in proptest::collection::vec(proptest::sample::select(b"0123:,./\x00\x7f\x80\xffab".to_vec()), 0..8),
            b in proptest::collection::vec(proptest::sample::select(b"0123:,./\x00\x7f\x80\xffab".to_vec()), 0..8),
        ) {
            proptest::prop_assert_eq!(compare_names(&a, &b), courier_loop(&a, &b));
        }
    }
}
