//! `date` and `date-time` (RFC 3501 §9).

use super::{Error, Parser};
use crate::codec::types::datetime::MONTHS;
use crate::codec::types::{Date, DateTime};

impl Parser<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Result<u32, Error> {
        let start = self.pos;
        while self.pos - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let d = &self.buf[start..self.pos];
        if d.len() < min {
            return Err(self.err("expected digits"));
        }
        Ok(d.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0')))
    }

    fn month(&mut self) -> Result<u8, Error> {
        for (i, m) in MONTHS.iter().enumerate() {
            if self.eat_ci(m) {
                return Ok(i as u8 + 1);
            }
        }
        Err(self.err("expected month"))
    }

    /// `date-text`: `date-day "-" date-month "-" date-year`.
    fn date_text(&mut self, fixed_day: bool) -> Result<Date, Error> {
        let day = if fixed_day && self.eat(b' ') {
            // date-day-fixed: (SP DIGIT) / 2DIGIT
            self.digits(1, 1)?
        } else {
            self.digits(1, 2)?
        };
        self.expect(b'-')?;
        let month = self.month()?;
        self.expect(b'-')?;
        let year = self.digits(4, 4)?;
        Date::new(year as u16, month, day as u8).ok_or_else(|| self.err("invalid date"))
    }

    /// RFC 3501 §9 `date`: `date-text / DQUOTE date-text DQUOTE`.
    pub(crate) fn date(&mut self) -> Result<Date, Error> {
        if self.eat(b'"') {
            let d = self.date_text(false)?;
            self.expect(b'"')?;
            Ok(d)
        } else {
            self.date_text(false)
        }
    }

    /// RFC 3501 §9 `date-time`:
    /// `DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`.
    pub(crate) fn date_time(&mut self) -> Result<DateTime, Error> {
        self.expect(b'"')?;
        let date = self.date_text(true)?;
        self.sp()?;
        let hour = self.digits(2, 2)?;
        self.expect(b':')?;
        let minute = self.digits(2, 2)?;
        self.expect(b':')?;
        let second = self.digits(2, 2)?;
        self.sp()?;
        let sign = match self.peek() {
            Some(b'+') => 1i16,
            Some(b'-') => -1i16,
            _ => return Err(self.err("expected zone")),
        };
        self.pos += 1;
        let zh = self.digits(2, 2)?;
        let zm = self.digits(2, 2)?;
        self.expect(b'"')?;
        if hour > 23 || minute > 59 || second > 60 || zm > 59 {
            return Err(Error::syntax("invalid time"));
        }
        Ok(DateTime {
            date,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            zone_minutes: sign * (zh as i16 * 60 + zm as i16),
        })
    }
}
