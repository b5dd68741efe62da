//! A message read for FETCH or SEARCH, and what they ask of it,
//! answered by `courser-mime`.

use std::sync::Arc;

use courser_mime::{BodyStructure, Envelope, ParsedMessage};

use crate::codec::{Section, SectionText};
use crate::mailstore::{Extent, MailFolder, MessageFacts, StoreResult};

/// Messages whose facts are asked of the store at once: enough for the
/// index to be read in large sequential blocks, few enough that a big
/// folder's facts are never all in memory together.
pub(super) const FACTS_BATCH: usize = 1024;

/// Where RFC822.SIZE, ENVELOPE and BODYSTRUCTURE come from: the message
/// file when it was read whole anyway, else the store's facts.
pub(super) enum Summary<'a> {
    File(&'a Loaded),
    Facts(Arc<MessageFacts>),
}

impl Summary<'_> {
    pub fn size(&self) -> u64 {
        match self {
            Summary::File(l) => l.size(),
            Summary::Facts(f) => f.rfc822_size,
        }
    }

    pub fn envelope(&self) -> Envelope {
        match self {
            Summary::File(l) => l.envelope(),
            Summary::Facts(f) => f.envelope(),
        }
    }

    pub fn body_structure(&self) -> BodyStructure {
        match self {
            Summary::File(l) => l.body_structure(),
            Summary::Facts(f) => f.body_structure(),
        }
    }
}

/// The bytes of one message (or of its header) and its MIME structure.
pub(super) struct Loaded {
    bytes: Vec<u8>,
    parsed: ParsedMessage,
}

impl Loaded {
    /// Reads `extent` of message `uid` from the folder.
    pub fn read(folder: &dyn MailFolder, uid: u32, extent: Extent) -> StoreResult<Loaded> {
        let bytes = folder.read_message(uid, extent)?;
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
}
