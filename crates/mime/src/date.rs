//! RFC 5322 date parsing (tolerant of obsolete and sloppy forms).

/// Parses an RFC 5322 date (`[Day,] DD Mon YYYY HH:MM[:SS] zone`) to Unix
/// seconds (UTC). Tolerates comments, obsolete 2- and 3-digit years,
/// named and military zones, a missing zone (taken as UTC), missing
/// seconds, and the asctime order (`Mon Jan  2 15:04:05 2006`).
/// Returns `None` when no day, month and year can be found.
pub fn parse_date(raw: &[u8]) -> Option<i64> {
    let d = DateParts::parse(raw)?;
    let (h, mi, s) = d.time.unwrap_or((0, 0, 0));
    Some(d.days * 86400 + h * 3600 + mi * 60 + s - d.zone.unwrap_or(0))
}

/// The calendar day a date was written on, as days since 1970-01-01,
/// ignoring its time and zone: what SENTBEFORE, SENTON and SENTSINCE
/// compare (RFC 3501 §6.4.4 "disregarding time and timezone"), so
/// `Sun, 25 Mar 2007 00:30 +0300` is on 25 March although it is 24 March
/// in UTC. Same tolerance as [`parse_date`].
pub fn parse_date_day(raw: &[u8]) -> Option<i64> {
    DateParts::parse(raw).map(|d| d.days)
}

/// The pieces of a date as written.
struct DateParts {
    /// The written calendar day, as days since the epoch.
    days: i64,
    time: Option<(i64, i64, i64)>,
    /// Offset east of UTC in seconds.
    zone: Option<i64>,
}

impl DateParts {
    fn parse(raw: &[u8]) -> Option<DateParts> {
        let text = crate::params::strip_comments(raw);
        let mut day: Option<i64> = None;
        let mut month: Option<i64> = None;
        let mut year: Option<i64> = None;
        let mut time: Option<(i64, i64, i64)> = None;
        let mut zone: Option<i64> = None;
        for tok in text
            .split(|&b| b.is_ascii_whitespace() || b == b',')
            .filter(|t| !t.is_empty())
        {
            if tok.contains(&b':') && time.is_none() && tok[0].is_ascii_digit() {
                time = parse_time(tok);
                continue;
            }
            if (tok[0] == b'+' || tok[0] == b'-') && tok.len() == 5 && zone.is_none() {
                let n = num(&tok[1..])?;
                let off = (n / 100) * 3600 + (n % 100) * 60;
                zone = Some(if tok[0] == b'-' { -off } else { off });
                continue;
            }
            if tok.iter().all(u8::is_ascii_digit) {
                if tok.len() > 9 {
                    return None;
                }
                let n = num(tok)?;
                if day.is_none() && tok.len() <= 2 && (month.is_none() || year.is_none()) {
                    day = Some(n);
                } else if year.is_none() {
                    year = Some(match tok.len() {
                        1 | 2 if n < 50 => n + 2000,
                        1 | 2 => n + 1900,
                        3 => n + 1900,
                        _ => n,
                    });
                }
                continue;
            }
            let lower = tok.to_ascii_lowercase();
            if month.is_none() && lower.len() >= 3 {
                if let Some(m) = MONTHS.iter().position(|m| lower.starts_with(m.as_bytes())) {
                    month = Some(m as i64 + 1);
                    continue;
                }
            }
            if zone.is_none() {
                zone = named_zone(&lower);
            }
        }
        let (day, month, year) = (day?, month?, year?);
        if !(1..=31).contains(&day) || !(0..=9999).contains(&year) {
            return None;
        }
        Some(DateParts {
            days: days_from_civil(year, month, day),
            time,
            zone,
        })
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn num(t: &[u8]) -> Option<i64> {
    if t.is_empty() || t.len() > 9 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

fn parse_time(tok: &[u8]) -> Option<(i64, i64, i64)> {
    let mut it = tok.split(|&b| b == b':');
    let h = num(it.next()?)?;
    let m = num(it.next()?)?;
    let s = match it.next() {
        Some(s) => num(s)?,
        None => 0,
    };
    (h <= 24 && m <= 59 && s <= 60).then_some((h, m, s))
}

fn named_zone(z: &[u8]) -> Option<i64> {
    let h = match z {
        b"ut" | b"utc" | b"gmt" | b"z" => 0,
        b"edt" => -4,
        b"est" | b"cdt" => -5,
        b"cst" | b"mdt" => -6,
        b"mst" | b"pdt" => -7,
        b"pst" => -8,
        // Obsolete military zones are unreliable (RFC 5322 §4.3): UTC.
        [c] if c.is_ascii_alphabetic() => 0,
        _ => return None,
    };
    Some(h * 3600)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5322_dates() {
        assert_eq!(parse_date(b"Thu, 01 Jan 1970 00:00:00 +0000"), Some(0));
        assert_eq!(
            parse_date(b"Fri, 21 Nov 1997 09:55:06 -0600"),
            Some(880_127_706)
        );
        assert_eq!(
            parse_date(b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
            Some(837_595_405)
        );
        assert_eq!(parse_date(b" 17 Jul 1996 02:23:25 PDT"), Some(837_595_405));
        assert_eq!(parse_date(b"Wed, 17 Jul 96 02:23 -0700"), Some(837_595_380));
        assert_eq!(parse_date(b"17 Jul 2001"), Some(995_328_000));
        assert_eq!(
            parse_date(b"Sat, 29 Feb 2020 12:00:00 GMT"),
            Some(1_582_977_600)
        );
        assert_eq!(parse_date(b"Mon Jan  2 15:04:05 2006"), Some(1_136_214_245));
        assert_eq!(
            parse_date(b"Tue, 1 Jul 103 10:00:00 +0000"),
            Some(1_057_053_600)
        );
        assert_eq!(parse_date(b"garbage"), None);
        assert_eq!(parse_date(b""), None);
        assert_eq!(parse_date(b"99999999999 Jan 1"), None);
    }

    #[test]
    fn the_written_day_ignores_time_and_zone() {
        // 24 March in UTC, but written on the 25th.
        let d = parse_date_day(b"Sun, 25 Mar 2007 00:00:00 +0200").unwrap();
        assert_eq!(d, days_from_civil(2007, 3, 25));
        assert_eq!(
            parse_date(b"Sun, 25 Mar 2007 00:00:00 +0200")
                .unwrap()
                .div_euclid(86400),
            d - 1
        );
        assert_eq!(
            parse_date_day(b"Mon, 26 Mar 2007 23:59:59 -1200"),
            Some(d + 1)
        );
        assert_eq!(parse_date_day(b"garbage"), None);
    }
}
