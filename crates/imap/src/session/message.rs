//! A message file read for FETCH or SEARCH, and what they ask of it,
//! answered by `courser-mime`.

use std::fs::File;
use std::io::Read;

use courser_maildir::Error as StoreError;
use courser_mime::{BodyStructure, Envelope, ParsedMessage};

use crate::codec::{Section, SectionText};

/// How much of a message file a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Extent {
    /// The header up to and including the blank line that ends it:
    /// enough for ENVELOPE, header sections and header SEARCH keys, which
    /// are what clients ask of every message when they list a folder.
    Header,
    /// The whole file.
    Whole,
}

/// Bytes read at a time when only the header is wanted.
const HEADER_CHUNK: usize = 8 * 1024;

/// Where the header ends (just past its blank line), looking from `from`:
/// the first empty line, LF or CRLF. A file that starts with an empty
/// line has an empty header.
fn header_end(bytes: &[u8], from: usize) -> Option<usize> {
    if from == 0 {
        if bytes.starts_with(b"\n") {
            return Some(1);
        }
        if bytes.starts_with(b"\r\n") {
            return Some(2);
        }
    }
    let mut i = from;
    while let Some(at) = bytes.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + at;
        match bytes.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// The bytes of one message (or of its header) and its MIME structure.
pub(super) struct Loaded {
    bytes: Vec<u8>,
    parsed: ParsedMessage,
}

impl Loaded {
    /// Reads `extent` of the file. Messages are bounded by the APPEND
    /// literal limit and the MDA's size limit.
    pub fn read(mut file: File, uid: u32, extent: Extent) -> Result<Loaded, StoreError> {
        let failed = |e| StoreError::io(format!("message uid {uid}"), e);
        let mut bytes = Vec::new();
        match extent {
            Extent::Whole => {
                file.read_to_end(&mut bytes).map_err(failed)?;
            }
            Extent::Header => {
                let mut chunk = [0u8; HEADER_CHUNK];
                loop {
                    let n = file.read(&mut chunk).map_err(failed)?;
                    if n == 0 {
                        break;
                    }
                    // Look again from just before the new bytes: the blank
                    // line may straddle two reads.
                    let from = bytes.len().saturating_sub(2);
                    bytes.extend_from_slice(&chunk[..n]);
                    if let Some(end) = header_end(&bytes, from) {
                        bytes.truncate(end);
                        break;
                    }
                }
            }
        }
        let parsed = courser_mime::parse(&bytes);
        Ok(Loaded { bytes, parsed })
    }

    /// RFC822.SIZE: the size with CRLF line ends.
    pub fn size(&self) -> u64 {
        courser_mime::crlf_len(&self.bytes)
    }

    /// The ENVELOPE.
    pub fn envelope(&self) -> Envelope {
        courser_mime::envelope(&self.bytes, &self.parsed)
    }

    /// The BODYSTRUCTURE.
    pub fn body_structure(&self) -> BodyStructure {
        courser_mime::body_structure(&self.bytes, &self.parsed)
    }

    /// BODY[section], CRLF line ends.
    pub fn section(&self, section: &Section) -> Vec<u8> {
        let text = section.text.as_ref().map(|t| match t {
            SectionText::Header => courser_mime::SectionText::Header,
            SectionText::HeaderFields(f) => courser_mime::SectionText::HeaderFields(
                f.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ),
            SectionText::HeaderFieldsNot(f) => courser_mime::SectionText::HeaderFieldsNot(
                f.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ),
            SectionText::Text => courser_mime::SectionText::Text,
            SectionText::Mime => courser_mime::SectionText::Mime,
        });
        let spec = courser_mime::Section {
            part: section.part.clone(),
            text,
        };
        courser_mime::section_bytes(&self.bytes, &self.parsed, &spec)
    }

    /// RFC822 / BODY[].
    pub fn whole(&self) -> Vec<u8> {
        self.section(&Section::default())
    }

    /// RFC822.HEADER.
    pub fn header(&self) -> Vec<u8> {
        self.section(&Section {
            part: Vec::new(),
            text: Some(SectionText::Header),
        })
    }

    /// RFC822.TEXT.
    pub fn text(&self) -> Vec<u8> {
        self.section(&Section {
            part: Vec::new(),
            text: Some(SectionText::Text),
        })
    }

    /// SEARCH header keys: `needle` in the decoded field (any field with
    /// that name); an empty needle matches a present field.
    pub fn header_contains(&self, field: &str, needle: &str) -> bool {
        courser_mime::header_contains(&self.bytes, &self.parsed, field, needle)
    }

    /// SEARCH FROM / TO / CC / BCC.
    pub fn address_contains(&self, field: &str, needle: &str) -> bool {
        courser_mime::address_header_contains(&self.bytes, &self.parsed, field, needle)
    }

    /// SEARCH BODY / TEXT.
    pub fn text_contains(&self, needle: &str, include_headers: bool) -> bool {
        courser_mime::text_contains(&self.bytes, &self.parsed, needle, include_headers)
    }

    /// The day the Date: header was written on (days since the epoch,
    /// its time and zone disregarded, RFC 3501 §6.4.4).
    pub fn sent_day(&self) -> Option<i64> {
        let values = courser_mime::header_values(&self.bytes, &self.parsed, "Date");
        courser_mime::parse_date_day(values.first()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_ends_at_the_first_empty_line() {
        assert_eq!(header_end(b"A: b\n\nbody\n\n", 0), Some(6));
        assert_eq!(header_end(b"A: b\r\n\r\nbody", 0), Some(8));
        assert_eq!(header_end(b"\nbody", 0), Some(1));
        assert_eq!(header_end(b"\r\nbody", 0), Some(2));
        assert_eq!(header_end(b"A: b\nC: d\n", 0), None);
        // Found from a later start (the previous read's last bytes).
        assert_eq!(header_end(b"A: b\n\nx", 3), Some(6));
    }

    #[test]
    fn a_header_read_stops_at_the_blank_line_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        let mut text = String::from("Subject: hi\n");
        while text.len() < HEADER_CHUNK - 1 {
            text.push_str("X-Pad: 0123456789\n");
        }
        let header_len = text.len() + 1;
        text.push_str("\nbody line\n");
        std::fs::write(&path, &text).unwrap();
        let head = Loaded::read(File::open(&path).unwrap(), 1, Extent::Header).unwrap();
        assert_eq!(head.bytes, text.as_bytes()[..header_len]);
        assert!(head.header_contains("Subject", "hi"));
        let whole = Loaded::read(File::open(&path).unwrap(), 1, Extent::Whole).unwrap();
        assert_eq!(whole.bytes, text.as_bytes());
        assert_eq!(head.envelope(), whole.envelope());
    }
}
