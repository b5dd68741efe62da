//! The index's binary encoding of facts: LEB128 numbers, length-prefixed
//! byte strings, and ENVELOPE / BODYSTRUCTURE trees written field by
//! field. Hand-rolled because the tree has no binary serde format, and
//! the reader must refuse anything odd (a record that passed its checksum
//! can still be another version's or a hostile one) without panicking or
//! recursing without bound.

use courser_mime::{Address, BodyKind, BodyStructure, Envelope, Params};

/// Deepest BODYSTRUCTURE nesting accepted when reading (the parser stops
/// at `courser_mime::parse::MAX_DEPTH`, a little less).
const MAX_DEPTH: usize = courser_mime::parse::MAX_DEPTH + 8;

/// Appends encoded values to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u64(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }

    pub fn i64(&mut self, v: i64) {
        // zigzag, so small negative numbers stay short
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn opt_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.buf.push(0),
            Some(b) => {
                self.buf.push(1);
                self.bytes(b);
            }
        }
    }

    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.buf.push(0),
            Some(v) => {
                self.buf.push(1);
                self.i64(v);
            }
        }
    }

    pub fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.u64(items.len() as u64);
        for i in items {
            each(self, i);
        }
    }

    pub fn strings(&mut self, items: &[String]) {
        self.list(items, |w, s| w.bytes(s.as_bytes()));
    }

    fn address(&mut self, a: &Address) {
        self.opt_bytes(a.name.as_deref());
        self.opt_bytes(a.adl.as_deref());
        self.opt_bytes(a.mailbox.as_deref());
        self.opt_bytes(a.host.as_deref());
    }

    fn addresses(&mut self, list: &[Address]) {
        self.list(list, Self::address);
    }

    pub fn envelope(&mut self, e: &Envelope) {
        self.opt_bytes(e.date.as_deref());
        self.opt_bytes(e.subject.as_deref());
        for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
            self.addresses(list);
        }
        self.opt_bytes(e.in_reply_to.as_deref());
        self.opt_bytes(e.message_id.as_deref());
    }

    fn params(&mut self, p: &Params) {
        self.list(p, |w, (n, v)| {
            w.bytes(n);
            w.bytes(v);
        });
    }

    pub fn body(&mut self, b: &BodyStructure) {
        self.bytes(&b.content_type);
        self.bytes(&b.subtype);
        self.params(&b.params);
        self.opt_bytes(b.id.as_deref());
        self.opt_bytes(b.description.as_deref());
        self.bytes(&b.encoding);
        self.u64(b.size);
        self.opt_bytes(b.md5.as_deref());
        match &b.disposition {
            None => self.buf.push(0),
            Some((kind, params)) => {
                self.buf.push(1);
                self.bytes(kind);
                self.params(params);
            }
        }
        self.list(&b.language, |w, l| w.bytes(l));
        self.opt_bytes(b.location.as_deref());
        match &b.kind {
            BodyKind::Basic => self.buf.push(0),
            BodyKind::Text { lines } => {
                self.buf.push(1);
                self.u64(*lines);
            }
            BodyKind::Message {
                envelope,
                body,
                lines,
            } => {
                self.buf.push(2);
                self.envelope(envelope);
                self.body(body);
                self.u64(*lines);
            }
            BodyKind::Multipart { parts } => {
                self.buf.push(3);
                self.list(parts, Self::body);
            }
        }
    }
}

/// Reads values back; every method returns `None` on malformed input.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(b)
    }

    pub fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    pub fn i64(&mut self) -> Option<i64> {
        let z = self.u64()?;
        Some(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        if n > self.buf.len() {
            return None;
        }
        let (b, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(b)
    }

    fn vec(&mut self) -> Option<Vec<u8>> {
        self.bytes().map(<[u8]>::to_vec)
    }

    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    pub fn opt_bytes(&mut self) -> Option<Option<Vec<u8>>> {
        if self.flag()? {
            self.vec().map(Some)
        } else {
            Some(None)
        }
    }

    pub fn opt_i64(&mut self) -> Option<Option<i64>> {
        if self.flag()? {
            self.i64().map(Some)
        } else {
            Some(None)
        }
    }

    pub fn list<T>(&mut self, mut each: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = usize::try_from(self.u64()?).ok()?;
        // every item takes at least one byte: a huge count is garbage,
        // and must not reserve memory
        if n > self.buf.len() {
            return None;
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(each(self)?);
        }
        Some(v)
    }

    fn address(&mut self) -> Option<Address> {
        Some(Address {
            name: self.opt_bytes()?,
            adl: self.opt_bytes()?,
            mailbox: self.opt_bytes()?,
            host: self.opt_bytes()?,
        })
    }

    fn addresses(&mut self) -> Option<Vec<Address>> {
        self.list(Self::address)
    }

    pub fn envelope(&mut self) -> Option<Envelope> {
        Some(Envelope {
            date: self.opt_bytes()?,
            subject: self.opt_bytes()?,
            from: self.addresses()?,
            sender: self.addresses()?,
            reply_to: self.addresses()?,
            to: self.addresses()?,
            cc: self.addresses()?,
            bcc: self.addresses()?,
            in_reply_to: self.opt_bytes()?,
            message_id: self.opt_bytes()?,
        })
    }

    fn params(&mut self) -> Option<Params> {
        self.list(|r| Some((r.vec()?, r.vec()?)))
    }

    pub fn body(&mut self) -> Option<BodyStructure> {
        self.body_at(0)
    }

    fn body_at(&mut self, depth: usize) -> Option<BodyStructure> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(BodyStructure {
            content_type: self.vec()?,
            subtype: self.vec()?,
            params: self.params()?,
            id: self.opt_bytes()?,
            description: self.opt_bytes()?,
            encoding: self.vec()?,
            size: self.u64()?,
            md5: self.opt_bytes()?,
            disposition: if self.flag()? {
                Some((self.vec()?, self.params()?))
            } else {
                None
            },
            language: self.list(Self::vec)?,
            location: self.opt_bytes()?,
            kind: match self.u8()? {
                0 => BodyKind::Basic,
                1 => BodyKind::Text { lines: self.u64()? },
                2 => BodyKind::Message {
                    envelope: Box::new(self.envelope()?),
                    body: Box::new(self.body_at(depth + 1)?),
                    lines: self.u64()?,
                },
                3 => BodyKind::Multipart {
                    parts: self.list(|r| r.body_at(depth + 1))?,
                },
                _ => return None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        let mut w = Writer::default();
        let nums = [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        let ints = [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX];
        for n in nums {
            w.u64(n);
        }
        for i in ints {
            w.i64(i);
        }
        let mut r = Reader::new(&w.buf);
        for n in nums {
            assert_eq!(r.u64(), Some(n));
        }
        for i in ints {
            assert_eq!(r.i64(), Some(i));
        }
        assert!(r.is_empty());
        assert_eq!(Reader::new(&[0xff; 11]).u64(), None);
    }

    #[test]
    fn every_corpus_structure_round_trips_and_every_cut_fails() {
        for m in courser_mime::corpus::messages() {
            let p = courser_mime::parse(&m.bytes);
            let env = courser_mime::envelope(&m.bytes, &p);
            let body = courser_mime::body_structure(&m.bytes, &p);
            let mut w = Writer::default();
            w.envelope(&env);
            w.body(&body);
            let mut r = Reader::new(&w.buf);
            assert_eq!(r.envelope().as_ref(), Some(&env), "{}", m.name);
            assert_eq!(r.body().as_ref(), Some(&body), "{}", m.name);
            assert!(r.is_empty());
            for cut in [0, 1, w.buf.len() / 2, w.buf.len() - 1] {
                let mut r = Reader::new(&w.buf[..cut]);
                assert!(r.envelope().is_none() || r.body().is_none());
            }
        }
    }

    #[test]
    fn a_huge_count_is_refused_without_allocating() {
        let mut w = Writer::default();
        w.u64(u64::MAX / 2);
        assert_eq!(Reader::new(&w.buf).list(|r| r.bytes()), None);
    }
}
