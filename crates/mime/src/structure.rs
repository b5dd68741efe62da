//! Data types describing a message's ENVELOPE and BODYSTRUCTURE.
//!
//! These are protocol-neutral: the IMAP crate serializes them to IMAP
//! syntax. All strings are raw bytes as found in the message (not RFC 2047
//! decoded, but unfolded). `None` / an empty `Vec` stand for IMAP `NIL`.

/// A parameter list: `(name, value)` pairs in header order.
pub type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// One RFC 3501 address structure.
///
/// Group syntax follows RFC 3501: a group start is marked by an address with
/// `mailbox = Some(group name)` and `host = None` (name and adl `None`); the
/// group end is marked by an address whose `mailbox` and `host` are both
/// `None` (all four fields `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// Display name (phrase), raw and unquoted; RFC 2047 words kept encoded.
    pub name: Option<Vec<u8>>,
    /// Source route (obsolete `@a,@b` route), if any.
    pub adl: Option<Vec<u8>>,
    /// Local part (or group name for a group start marker).
    pub mailbox: Option<Vec<u8>>,
    /// Domain; `None` for group markers.
    pub host: Option<Vec<u8>>,
}

/// The RFC 3501 ENVELOPE of a message.
///
/// An empty address list means `NIL`. `sender` and `reply_to` already
/// default to `from` when their header is missing or empty, as RFC 3501
/// requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Envelope {
    /// `Date:` header value, unfolded, raw.
    pub date: Option<Vec<u8>>,
    /// `Subject:` header value, unfolded, raw.
    pub subject: Option<Vec<u8>>,
    /// `From:` addresses.
    pub from: Vec<Address>,
    /// `Sender:` addresses (defaults to `from`).
    pub sender: Vec<Address>,
    /// `Reply-To:` addresses (defaults to `from`).
    pub reply_to: Vec<Address>,
    /// `To:` addresses.
    pub to: Vec<Address>,
    /// `Cc:` addresses.
    pub cc: Vec<Address>,
    /// `Bcc:` addresses.
    pub bcc: Vec<Address>,
    /// `In-Reply-To:` header value, unfolded, raw.
    pub in_reply_to: Option<Vec<u8>>,
    /// `Message-ID:` header value, unfolded, raw.
    pub message_id: Option<Vec<u8>>,
}

/// The RFC 3501 BODYSTRUCTURE of one MIME entity (with extension data).
///
/// `content_type` and `subtype` are uppercased ASCII (e.g. `b"TEXT"`,
/// `b"PLAIN"`), as Courier answers. Parameter names are uppercased too;
/// parameter values keep their case. `encoding` is uppercased
/// (`b"7BIT"` by default).
///
/// For a multipart entity `content_type` is `b"MULTIPART"`, and `params`,
/// `disposition`, `language` and `location` are the multipart extension
/// data; `id`, `description`, `encoding`, `size` and `md5` are unused
/// (empty / `None` / 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BodyStructure {
    /// Media type, uppercased (`TEXT`, `IMAGE`, `MESSAGE`, `MULTIPART`...).
    pub content_type: Vec<u8>,
    /// Media subtype, uppercased (`PLAIN`, `RFC822`, `MIXED`...).
    pub subtype: Vec<u8>,
    /// Content-Type parameters `(NAME, value)`, RFC 2231 continuations joined.
    pub params: Params,
    /// `Content-ID:` value.
    pub id: Option<Vec<u8>>,
    /// `Content-Description:` value.
    pub description: Option<Vec<u8>>,
    /// `Content-Transfer-Encoding:` value, uppercased; `7BIT` by default.
    pub encoding: Vec<u8>,
    /// Size of the body in octets, counted with CRLF line endings.
    pub size: u64,
    /// `Content-MD5:` value.
    pub md5: Option<Vec<u8>>,
    /// `Content-Disposition:` type (uppercased) and parameters.
    pub disposition: Option<(Vec<u8>, Params)>,
    /// `Content-Language:` tags (empty = NIL).
    pub language: Vec<Vec<u8>>,
    /// `Content-Location:` value.
    pub location: Option<Vec<u8>>,
    /// What kind of body this is, with kind-specific fields.
    pub kind: BodyKind,
}

/// Kind-specific BODYSTRUCTURE data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// Any non-text, non-message/rfc822, non-multipart body.
    #[default]
    Basic,
    /// `text/*`: with the body's line count.
    Text {
        /// Number of lines in the body.
        lines: u64,
    },
    /// `message/rfc822`: the enclosed message.
    Message {
        /// Envelope of the enclosed message.
        envelope: Box<Envelope>,
        /// Body structure of the enclosed message.
        body: Box<BodyStructure>,
        /// Number of lines in the encapsulated message.
        lines: u64,
    },
    /// `multipart/*`: the parts, in order (at least one).
    Multipart {
        /// The body parts.
        parts: Vec<BodyStructure>,
    },
}
