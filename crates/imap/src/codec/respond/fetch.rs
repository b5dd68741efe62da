//! FETCH responses (RFC 3501 §7.4.2, §9 `msg-att`): UID, FLAGS,
//! INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE,
//! `BODY[section]<origin>`, RFC822, RFC822.HEADER, RFC822.TEXT.

use super::{astring, flag_list, literal, nstring, string};
use crate::codec::types::datetime::MONTHS;
use crate::codec::types::{
    BodyKind, BodyStructure, DateTime, Envelope, Flag, Section, SectionText,
};
use courser_mime::Address;

/// Nesting beyond this is written as an opaque part, so a pathological
/// structure cannot exhaust the stack.
const MAX_BODY_DEPTH: usize = 128;

/// One FETCH data item with its value, for [`fetch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchItem<'a> {
    /// `UID n`
    Uid(u32),
    /// `FLAGS (...)`
    Flags(&'a [Flag]),
    /// `INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz"`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(u64),
    /// `ENVELOPE (...)`
    Envelope(&'a Envelope),
    /// `BODY (...)` — no extension data.
    Body(&'a BodyStructure),
    /// `BODYSTRUCTURE (...)` — with extension data.
    BodyStructure(&'a BodyStructure),
    /// `BODY[section]<origin> data`
    BodySection {
        /// The section as requested.
        section: &'a Section,
        /// `Some(origin)` when the request had a partial range.
        origin: Option<u32>,
        /// The data; `None` → `NIL`.
        data: Option<&'a [u8]>,
    },
    /// `RFC822 data`
    Rfc822(Option<&'a [u8]>),
    /// `RFC822.HEADER data`
    Rfc822Header(Option<&'a [u8]>),
    /// `RFC822.TEXT data`
    Rfc822Text(Option<&'a [u8]>),
}

/// Write `* seq FETCH (items)` in one go.
pub fn fetch(out: &mut Vec<u8>, seq: u32, items: &[FetchItem<'_>]) {
    let mut w = FetchWriter::new(out, seq);
    for item in items {
        w.item(item);
    }
    w.finish();
}

/// Streams one `* seq FETCH (...)` response item by item, so large bodies
/// need not be collected first. Call [`finish`](FetchWriter::finish) to
/// close the response.
#[derive(Debug)]
pub struct FetchWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> FetchWriter<'a> {
    /// Start `* seq FETCH (`. `seq` must be non-zero.
    pub fn new(out: &'a mut Vec<u8>, seq: u32) -> Self {
        out.extend_from_slice(format!("* {} FETCH (", seq.max(1)).as_bytes());
        FetchWriter { out, first: true }
    }

    fn name(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b' ');
        }
        self.first = false;
        self.out.extend_from_slice(name.as_bytes());
        self.out
    }

    /// Write one [`FetchItem`].
    pub fn item(&mut self, item: &FetchItem<'_>) -> &mut Self {
        match *item {
            FetchItem::Uid(u) => self.uid(u),
            FetchItem::Flags(f) => self.flags(f),
            FetchItem::InternalDate(d) => self.internal_date(&d),
            FetchItem::Rfc822Size(n) => self.rfc822_size(n),
            FetchItem::Envelope(e) => self.envelope(e),
            FetchItem::Body(b) => self.body(b),
            FetchItem::BodyStructure(b) => self.body_structure(b),
            FetchItem::BodySection {
                section,
                origin,
                data,
            } => self.body_section(section, origin, data),
            FetchItem::Rfc822(d) => self.rfc822(d),
            FetchItem::Rfc822Header(d) => self.rfc822_header(d),
            FetchItem::Rfc822Text(d) => self.rfc822_text(d),
        }
    }

    /// `UID n`
    pub fn uid(&mut self, uid: u32) -> &mut Self {
        let out = self.name("UID ");
        out.extend_from_slice(uid.max(1).to_string().as_bytes());
        self
    }

    /// `FLAGS (...)`
    pub fn flags(&mut self, flags: &[Flag]) -> &mut Self {
        let out = self.name("FLAGS ");
        flag_list(out, flags);
        self
    }

    /// `INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz"` (RFC 3501 §9 `date-time`).
    pub fn internal_date(&mut self, dt: &DateTime) -> &mut Self {
        let out = self.name("INTERNALDATE ");
        date_time(out, dt);
        self
    }

    /// `RFC822.SIZE n` (clamped to 32 bits, RFC 3501 `number`).
    pub fn rfc822_size(&mut self, n: u64) -> &mut Self {
        let out = self.name("RFC822.SIZE ");
        out.extend_from_slice(n.min(u64::from(u32::MAX)).to_string().as_bytes());
        self
    }

    /// `ENVELOPE (...)`
    pub fn envelope(&mut self, env: &Envelope) -> &mut Self {
        let out = self.name("ENVELOPE ");
        envelope(out, env);
        self
    }

    /// `BODY (...)`: the structure without extension data.
    pub fn body(&mut self, b: &BodyStructure) -> &mut Self {
        let out = self.name("BODY ");
        body(out, b, false, 0);
        self
    }

    /// `BODYSTRUCTURE (...)`: the structure with extension data.
    pub fn body_structure(&mut self, b: &BodyStructure) -> &mut Self {
        let out = self.name("BODYSTRUCTURE ");
        body(out, b, true, 0);
        self
    }

    /// `BODY[section]<origin> data`; data is always a literal (or `NIL`).
    pub fn body_section(
        &mut self,
        section: &Section,
        origin: Option<u32>,
        data: Option<&[u8]>,
    ) -> &mut Self {
        let out = self.name("BODY[");
        section_spec(out, section);
        out.push(b']');
        if let Some(o) = origin {
            out.extend_from_slice(format!("<{o}>").as_bytes());
        }
        out.push(b' ');
        data_literal(out, data);
        self
    }

    /// `RFC822 data`
    pub fn rfc822(&mut self, data: Option<&[u8]>) -> &mut Self {
        let out = self.name("RFC822 ");
        data_literal(out, data);
        self
    }

    /// `RFC822.HEADER data`
    pub fn rfc822_header(&mut self, data: Option<&[u8]>) -> &mut Self {
        let out = self.name("RFC822.HEADER ");
        data_literal(out, data);
        self
    }

    /// `RFC822.TEXT data`
    pub fn rfc822_text(&mut self, data: Option<&[u8]>) -> &mut Self {
        let out = self.name("RFC822.TEXT ");
        data_literal(out, data);
        self
    }

    /// Close the response: `)` CRLF.
    pub fn finish(self) {
        self.out.extend_from_slice(b")\r\n");
    }
}

fn data_literal(out: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        Some(d) => literal(out, d),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// RFC 3501 §9 `date-time` with `date-day-fixed`.
pub(crate) fn date_time(out: &mut Vec<u8>, dt: &DateTime) {
    let month = MONTHS
        .get(usize::from(dt.date.month.clamp(1, 12)) - 1)
        .copied()
        .unwrap_or("Jan");
    let z = dt.zone_minutes;
    let sign = if z < 0 { '-' } else { '+' };
    let za = z.unsigned_abs().min(99 * 60 + 59);
    out.extend_from_slice(
        format!(
            "\"{:>2}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}\"",
            dt.date.day.clamp(1, 31),
            month,
            dt.date.year.min(9999),
            dt.hour.min(23),
            dt.minute.min(59),
            dt.second.min(60),
            sign,
            za / 60,
            za % 60
        )
        .as_bytes(),
    );
}

/// `section-spec` inside the brackets.
fn section_spec(out: &mut Vec<u8>, s: &Section) {
    for (i, p) in s.part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(p.max(&1).to_string().as_bytes());
    }
    let Some(text) = &s.text else { return };
    if !s.part.is_empty() {
        out.push(b'.');
    }
    let (word, names) = match text {
        SectionText::Header => ("HEADER", None),
        SectionText::Text => ("TEXT", None),
        SectionText::Mime => ("MIME", None),
        SectionText::HeaderFields(n) => ("HEADER.FIELDS", Some(n)),
        SectionText::HeaderFieldsNot(n) => ("HEADER.FIELDS.NOT", Some(n)),
    };
    out.extend_from_slice(word.as_bytes());
    if let Some(names) = names {
        out.extend_from_slice(b" (");
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            astring(out, n.as_bytes());
        }
        out.push(b')');
    }
}

/// RFC 3501 §9 `envelope`.
pub fn envelope(out: &mut Vec<u8>, e: &Envelope) {
    out.push(b'(');
    nstring(out, e.date.as_deref());
    out.push(b' ');
    nstring(out, e.subject.as_deref());
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        out.push(b' ');
        addresses(out, list);
    }
    out.push(b' ');
    nstring(out, e.in_reply_to.as_deref());
    out.push(b' ');
    nstring(out, e.message_id.as_deref());
    out.push(b')');
}

fn addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        nstring(out, a.name.as_deref());
        out.push(b' ');
        nstring(out, a.adl.as_deref());
        out.push(b' ');
        nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        nstring(out, a.host.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

/// `body-fld-param`: `NIL` or `(name value ...)`.
fn params(out: &mut Vec<u8>, ps: &[(Vec<u8>, Vec<u8>)]) {
    if ps.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (k, v)) in ps.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, k);
        out.push(b' ');
        string(out, v);
    }
    out.push(b')');
}

fn clamp32(n: u64) -> String {
    n.min(u64::from(u32::MAX)).to_string()
}

/// `body-fields` (params id desc enc octets).
fn body_fields(out: &mut Vec<u8>, b: &BodyStructure) {
    params(out, &b.params);
    out.push(b' ');
    nstring(out, b.id.as_deref());
    out.push(b' ');
    nstring(out, b.description.as_deref());
    out.push(b' ');
    if b.encoding.is_empty() {
        out.extend_from_slice(b"\"7BIT\"");
    } else {
        string(out, &b.encoding);
    }
    out.push(b' ');
    out.extend_from_slice(clamp32(b.size).as_bytes());
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc` (the shared tail of
/// both extension forms).
fn ext_tail(out: &mut Vec<u8>, b: &BodyStructure) {
    out.push(b' ');
    match &b.disposition {
        Some((kind, ps)) => {
            out.push(b'(');
            string(out, kind);
            out.push(b' ');
            params(out, ps);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    match b.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => string(out, one),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring(out, b.location.as_deref());
}

/// RFC 3501 §9 `body`; with `ext`, BODYSTRUCTURE extension data.
pub fn body(out: &mut Vec<u8>, b: &BodyStructure, ext: bool, depth: usize) {
    if depth > MAX_BODY_DEPTH {
        out.extend_from_slice(b"(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7BIT\" 0)");
        return;
    }
    out.push(b'(');
    match &b.kind {
        BodyKind::Multipart { parts } => {
            if parts.is_empty() {
                out.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
            }
            for p in parts {
                body(out, p, ext, depth + 1);
            }
            out.push(b' ');
            string(out, &b.subtype);
            if ext {
                out.push(b' ');
                params(out, &b.params);
                ext_tail(out, b);
            }
        }
        BodyKind::Basic | BodyKind::Text { .. } | BodyKind::Message { .. } => {
            match &b.kind {
                BodyKind::Text { .. } => out.extend_from_slice(b"\"TEXT\""),
                BodyKind::Message { .. } => out.extend_from_slice(b"\"MESSAGE\""),
                _ => string(out, &b.content_type),
            }
            out.push(b' ');
            match &b.kind {
                BodyKind::Message { .. } => out.extend_from_slice(b"\"RFC822\""),
                _ => string(out, &b.subtype),
            }
            out.push(b' ');
            body_fields(out, b);
            match &b.kind {
                BodyKind::Text { lines } => {
                    out.push(b' ');
                    out.extend_from_slice(clamp32(*lines).as_bytes());
                }
                BodyKind::Message {
                    envelope: env,
                    body: inner,
                    lines,
                } => {
                    out.push(b' ');
                    envelope(out, env);
                    out.push(b' ');
                    body(out, inner, ext, depth + 1);
                    out.push(b' ');
                    out.extend_from_slice(clamp32(*lines).as_bytes());
                }
                _ => {}
            }
            if ext {
                out.push(b' ');
                nstring(out, b.md5.as_deref());
                ext_tail(out, b);
            }
        }
    }
    out.push(b')');
}
