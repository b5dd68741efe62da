//! Deterministic maildir generator: small, realistic plain-text messages
//! in threads of five (Message-ID / In-Reply-To / References), with
//! Courier-style file names (`TIME.MusecPpid_N.host,S=size:2,FLAGS`) in
//! `cur/` and the file's mtime set to the Date header (Courier's internal
//! date). The same index always gives the same bytes, so searches have
//! known answers: see [`SUBJECT_TERM`] and [`BODY_TERM`].

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// A word found in the Subject of exactly the messages where
/// [`has_subject_term`] holds (and nowhere else in any header or body).
pub const SUBJECT_TERM: &str = "quarterly";
/// A word found in the body of exactly the messages where
/// [`has_body_term`] holds (and in no header).
pub const BODY_TERM: &str = "zebracorn";

/// Thread length: message `i` replies to `i - 1` unless `i % THREAD == 0`.
const THREAD: usize = 5;
/// Date of message 0: 2024-01-01T00:00:00Z.
const BASE_TIME: u64 = 1_704_067_200;

const WORDS: &[&str] = &[
    "meeting", "budget", "release", "lunch", "server", "backup", "invoice", "travel", "review",
    "draft", "update", "schedule", "contract", "holiday", "project", "network", "printer",
    "coffee", "deadline", "feedback", "report", "garden", "weekend", "mailbox", "folder", "ticket",
    "planning", "notes", "agenda", "question", "answer", "photos", "minutes",
];
const NAMES: &[&str] = &[
    "Alice Martin",
    "Bob Dubois",
    "Carol Schmidt",
    "Dave Rossi",
    "Eve Novak",
    "Frank Meyer",
    "Grace Lindqvist",
    "Heidi Kowalski",
    "Ivan Petrov",
    "Judy Garcia",
    "Mallory Brown",
    "Oscar Jansen",
    "Peggy Costa",
    "Trent Walker",
    "Victor Leclerc",
    "Wendy Tanaka",
];

/// Whether message `i` has [`SUBJECT_TERM`] in its subject (1 in 100).
pub fn has_subject_term(i: usize) -> bool {
    i % 100 == 7
}

/// Whether message `i` has [`BODY_TERM`] in its body (1 in 1000).
pub fn has_body_term(i: usize) -> bool {
    i % 1000 == 3
}

/// How many of the first `count` messages match SEARCH SUBJECT / BODY.
pub fn expected_hits(count: usize) -> (usize, usize) {
    let s = (0..count).filter(|&i| has_subject_term(i)).count();
    let b = (0..count).filter(|&i| has_body_term(i)).count();
    (s, b)
}

/// A small deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The Date of message `i`, in seconds since the epoch: mostly rising,
/// with jitter so that date order differs from arrival order.
pub fn date_of(i: usize) -> u64 {
    let jitter = Rng::new(i as u64 ^ 0xDA7E).below(7200);
    BASE_TIME + (i as u64) * 600 + jitter
}

fn thread_subject(thread: usize) -> String {
    let mut r = Rng::new(thread as u64 ^ 0x005B_1EC7);
    format!("{} {} {}", r.pick(WORDS), r.pick(WORDS), r.pick(WORDS))
}

fn msgid(i: usize) -> String {
    format!("<{i}.bench@courser.test>")
}

/// The bytes of message `i` (CRLF line ends, ~0.5–1.5 KB).
pub fn message(i: usize) -> Vec<u8> {
    let mut r = Rng::new(i as u64);
    let thread = i / THREAD;
    let pos = i % THREAD;
    let from = NAMES[(i * 7 + 3) % NAMES.len()];
    let to = NAMES[(i * 3 + 1) % NAMES.len()];
    let mut subject = thread_subject(thread);
    if has_subject_term(i) {
        subject.push_str(&format!(" {SUBJECT_TERM} figures"));
    }
    if pos > 0 {
        subject = format!("Re: {subject}");
    }
    let mut m = String::with_capacity(1024);
    m.push_str("Return-Path: <bounce@example.org>\r\n");
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(date_of(i))));
    m.push_str(&format!(
        "From: {from} <{}@example.org>\r\n",
        login_of(from)
    ));
    m.push_str(&format!("To: {to} <{}@example.net>\r\n", login_of(to)));
    m.push_str(&format!("Subject: {subject}\r\n"));
    m.push_str(&format!("Message-ID: {}\r\n", msgid(i)));
    if pos > 0 {
        m.push_str(&format!("In-Reply-To: {}\r\n", msgid(i - 1)));
        let refs: Vec<String> = (i - pos..i).map(msgid).collect();
        m.push_str(&format!("References: {}\r\n", refs.join(" ")));
    }
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Content-Type: text/plain; charset=us-ascii\r\n");
    m.push_str("Content-Transfer-Encoding: 7bit\r\n\r\n");
    let lines = 4 + r.below(12);
    for l in 0..lines {
        let words = 6 + r.below(8);
        let mut line: Vec<&str> = (0..words).map(|_| r.pick(WORDS)).collect();
        if l == 1 && has_body_term(i) {
            line.push(BODY_TERM);
        }
        m.push_str(&line.join(" "));
        m.push_str("\r\n");
    }
    m.push_str(&format!("\r\n-- \r\n{from}\r\n"));
    m.into_bytes()
}

fn login_of(name: &str) -> String {
    name.split(' ').next().unwrap_or("x").to_ascii_lowercase()
}

/// Maildir flags of message `i` (letters in ASCII order).
pub fn flags_of(i: usize) -> String {
    let mut f = String::new();
    if i.is_multiple_of(20) {
        f.push('F');
    }
    if i.is_multiple_of(7) {
        f.push('R');
    }
    if i % 10 < 7 {
        f.push('S');
    }
    f
}

/// A Courier-style maildir file name for message `i` of `size` bytes.
pub fn file_name(i: usize, size: usize) -> String {
    let t = date_of(i);
    format!(
        "{t}.M{:06}P4242_{i}.bench.courser.test,S={size}:2,{}",
        i % 1_000_000,
        flags_of(i)
    )
}

/// Writes messages `0..count` into `cur/` of the maildir at `dir`
/// (created with `cur`, `new`, `tmp`). Returns the total bytes written.
pub fn generate(dir: &Path, count: usize) -> io::Result<u64> {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    let mut total = 0u64;
    for i in 0..count {
        let data = message(i);
        let path = dir.join("cur").join(file_name(i, data.len()));
        fs::write(&path, &data)?;
        let f = fs::File::options().write(true).open(&path)?;
        f.set_modified(UNIX_EPOCH + Duration::from_secs(date_of(i)))?;
        total += data.len() as u64;
    }
    Ok(total)
}

/// An RFC 5322 date (`Mon, 01 Jan 2024 00:00:00 +0000`) for a Unix time.
pub fn rfc5322_date(t: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = t / 86_400;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(BASE_TIME), "Mon, 01 Jan 2024 00:00:00 +0000");
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn deterministic_and_searchable() {
        assert_eq!(message(42), message(42));
        for i in 0..3000 {
            let text = String::from_utf8(message(i)).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert_eq!(head.contains(SUBJECT_TERM), has_subject_term(i), "{i}");
            assert!(!head.contains(BODY_TERM));
            assert_eq!(body.contains(BODY_TERM), has_body_term(i), "{i}");
            assert!(!body.contains(SUBJECT_TERM));
        }
        assert_eq!(expected_hits(100_000), (1000, 100));
    }

    #[test]
    fn names() {
        let n = file_name(14, 900);
        assert!(n.ends_with(",S=900:2,RS"), "{n}");
    }
}
