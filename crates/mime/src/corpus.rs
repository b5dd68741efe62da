//! A deterministic corpus of varied test messages, for this crate's
//! tests and for other crates' tests (IMAP FETCH/SEARCH comparisons).
//!
//! Covers nested multiparts, message/rfc822, digests, base64 and
//! quoted-printable, RFC 2047 words, RFC 2231 parameters, missing
//! headers, address groups, bad and missing boundaries, preamble and
//! epilogue, 8-bit content, deep nesting, and both LF and CRLF files.

/// One generated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusMessage {
    /// A stable name (`gen-000-...`).
    pub name: String,
    /// The raw message file contents.
    pub bytes: Vec<u8>,
}

const FROMS: &[&str] = &[
    "From: alice@example.com\n",
    "From: Alice Example <alice@example.com>\n",
    "From: \"Example, Alice\" <alice@example.com>\n",
    "From: =?utf-8?q?Al=C3=AFce?= <alice@example.org>\n",
    "From: bob@example.net (Bob the Builder)\n",
    "",
    "From: undisclosed-recipients:;\n",
    "From: <@relay.example:carol@example.com>\n",
    "From: Dave <dave@[192.0.2.1]>\nSender: secretary@example.com\n",
    "From: =?iso-8859-1?b?SvxyZ2Vu?= <juergen@example.de>\nReply-To: list@example.de\n",
];

const TOS: &[&str] = &[
    "To: bob@example.net\n",
    "To: Team: ann@example.com, \"B. Smith\" <bs@example.com>;, carl@example.com\n",
    "To: a@example.com,\n\tb@example.com,\n c@example.com\nCc: d@example.com\n",
    "",
    "To: \"quoted local\"@example.com\nBcc: hidden@example.com\n",
    "To: nobody\nCc: Group One:;\n",
];

const SUBJECTS: &[&str] = &[
    "Subject: Hello world\n",
    "Subject: =?utf-8?B?SMOpbGxvIHfDtnJsZA==?=\n",
    "Subject: A long subject that is\n folded over\n\ttwo continuation lines\n",
    "",
    "Subject: 8-bit caf\u{e9} raw\n",
    "Subject: =?iso-8859-1?q?caf=E9?= =?iso-8859-1?q?_au_lait?=\n",
    "Subject:\n",
];

const DATES: &[&str] = &[
    "Date: Mon, 2 Jan 2006 15:04:05 -0700\n",
    "Date: 17 Jul 96 02:23 PDT\n",
    "",
    "Date: Tue, 01 Jul 2003 10:52:37 +0200 (CEST)\n",
    "Date: garbage date\n",
];

fn ids(i: usize) -> String {
    match i % 4 {
        0 => format!("Message-ID: <msg{i}@example.com>\n"),
        1 => format!("Message-Id: <msg{i}@example.com>\nIn-Reply-To: <parent{i}@example.com>\n"),
        2 => String::new(),
        _ => format!("Message-ID:\n <msg{i}.folded@example.com>\nReferences: <a@x> <b@y>\n"),
    }
}

fn text(i: usize) -> String {
    format!("Plain text body number {i}.\nSecond line with searchable word kumquat.\n")
}

const HTML_B64: &str = "PGh0bWw+PGJvZHk+PHA+SGVsbG8gPGI+R3LDvMOfZTwvYj48L3A+PC9ib2R5PjwvaHRtbD4=\n";
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\n+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\n";

fn body(kind: usize, i: usize) -> String {
    let t = text(i);
    match kind {
        0 => format!("MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n{t}"),
        1 => "MIME-Version: 1.0\nContent-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: quoted-printable\n\ncr=E8me br=FBl=E9e, soft =\nbreak here.\n".to_string(),
        2 => format!("Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{HTML_B64}"),
        3 => format!("MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"alt-{i}\"\n\n--alt-{i}\nContent-Type: text/plain\n\n{t}\n--alt-{i}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{HTML_B64}--alt-{i}--\n"),
        4 => format!("Content-Type: multipart/mixed; boundary=mix{i}\n\n--mix{i}\n\n{t}--mix{i}\nContent-Type: image/png; name*=utf-8''%E2%82%AC.png\nContent-Disposition: attachment;\n filename*0*=utf-8''%E2%82%AC; filename*1=\".png\"\nContent-Transfer-Encoding: base64\n\n{PNG_B64}--mix{i}--\n"),
        5 => format!("Content-Type: multipart/mixed; boundary=\"outer {i}\"\n\npreamble text\n--outer {i}\nContent-Type: multipart/alternative; boundary=inner{i}\n\n--inner{i}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\u{fc}\u{df}e {i}\n--inner{i}\nContent-Type: text/html\n\n<p>hi</p>\n--inner{i}--\n--outer {i}\nContent-Type: application/pdf; name=\"doc.pdf\"\nContent-Description: A document\nContent-ID: <doc{i}@x>\n\n%PDF-1.4 fake\n--outer {i}--\nepilogue text\n"),
        6 => format!("Content-Type: multipart/mixed; boundary=fwd{i}\n\n--fwd{i}\n\nSee attached.\n--fwd{i}\nContent-Type: message/rfc822\nContent-Disposition: inline\n\nFrom: inner@example.com\nTo: x@example.com, y@example.com\nSubject: Inner message {i}\nDate: Wed, 17 Jul 1996 02:23:25 -0700\n\nInner body {i} with kumquat.\n--fwd{i}--\n"),
        7 => format!("MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=dig{i}\n\n--dig{i}\n\nSubject: digest one\n\nfirst\n--dig{i}\n\nSubject: digest two\nFrom: two@example.com\n\nsecond\n--dig{i}\nContent-Type: text/plain\n\nexplicit text\n--dig{i}--\n"),
        8 => format!("Content-Type: multipart/mixed; boundary=open{i}\n\n--open{i}\nContent-Type: text/plain\n\nno closing boundary\n--open{i}\n\nlast part {i}\n"),
        9 => format!("Content-Type: multipart/mixed; boundary=\"pe{i}\"\n\nThis is a preamble.\n\n--pe{i}\n\npart\n\n--pe{i}--\n\nThis is the epilogue.\n"),
        10 => format!("Content-Type: multipart/mixed; boundary=wrong{i}\n\n--right{i}\n\nno matching boundary\n--right{i}--\n"),
        11 => "Content-Type: multipart/mixed\n\nmultipart without boundary\n".to_string(),
        12 => "X-Note: no content type, 8-bit body\n\nna\u{ef}ve \u{e9}t\u{e9} \u{2603}\n\n\nTrailing blank lines\n\n".to_string(),
        13 => format!("Content-Type: message/rfc822\n\nSubject: top-level encapsulated {i}\nFrom: enc@example.com\nContent-Type: multipart/mixed; boundary=e{i}\n\n--e{i}\n\nenc part\n--e{i}--\n"),
        14 => if i.is_multiple_of(2) { "X-Only-Header: no body".to_string() } else { "X-Empty-Body: yes\n\n".to_string() },
        15 => {
            let mut s = String::new();
            for d in 0..60 {
                s.push_str(&format!("Content-Type: multipart/mixed; boundary=d{d}x\n\n--d{d}x\n"));
            }
            s.push_str("\ndeepest\n");
            s
        }
        16 => format!("Content-Type: multipart/signed; protocol=\"application/pgp-signature\";\n micalg=pgp-sha256; boundary=sig{i}\n\n--sig{i}\nContent-Type: text/plain; format=flowed; delsp=yes\n\nsigned text \n--sig{i}\nContent-Type: application/pgp-signature; name=signature.asc\n\n-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n--sig{i}--\n"),
        _ => format!("Content-Type: text/plain; charset=utf-8; title*0*=us-ascii'en'This%20is; title*1*=%20fun\nContent-Disposition: inline; filename=\"a b.txt\"; size=12\nContent-Language: en-US, fr\nContent-Location: http://example.com/\n a.txt\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-ID: <loc{i}@example.com>\nContent-Description: =?utf-8?q?d=C3=A9scription?=\n\n{t}"),
    }
}

/// Number of distinct body shapes the generator cycles through.
pub const BODY_KINDS: usize = 18;

/// Generates the corpus: 126 messages (7 per body shape), half with CRLF
/// line endings.
pub fn messages() -> Vec<CorpusMessage> {
    let mut out = Vec::new();
    for i in 0..BODY_KINDS * 7 {
        let kind = i % BODY_KINDS;
        let round = i / BODY_KINDS;
        let mut s = String::new();
        s.push_str("Return-Path: <bounce@example.com>\nReceived: from mx.example.com by mail.example.com;\n Mon, 2 Jan 2006 15:04:05 -0700\n");
        s.push_str(DATES[(i + round) % DATES.len()]);
        s.push_str(FROMS[(i + 3 * round) % FROMS.len()]);
        s.push_str(TOS[(i + round) % TOS.len()]);
        s.push_str(SUBJECTS[(i * 7 + round) % SUBJECTS.len()]);
        s.push_str(&ids(i + round));
        s.push_str(&body(kind, i));
        let crlf = (i + round) % 2 == 1;
        let bytes = if crlf {
            crate::lines::to_crlf(s.as_bytes())
        } else {
            s.into_bytes()
        };
        out.push(CorpusMessage {
            name: format!("gen-{i:03}-k{kind}{}", if crlf { "-crlf" } else { "" }),
            bytes,
        });
    }
    // A few hand-made oddities.
    let extras: &[(&str, &[u8])] = &[
        ("odd-empty", b""),
        ("odd-only-newlines", b"\n\n\n"),
        ("odd-bare-cr", b"Subject: cr\r only\r\n\r\nbody\rmore\r\n"),
        ("odd-binary", b"Subject: bin\n\n\x00\x01\xff\xfe\n--\n"),
        (
            "odd-boundary-prefix",
            b"Content-Type: multipart/mixed; boundary=ab\n\n--ab\n\none\n--abc\n\nstill one\n--ab--\n",
        ),
        (
            "odd-nested-same-boundary",
            b"Content-Type: multipart/mixed; boundary=s\n\n--s\nContent-Type: multipart/mixed; boundary=s\n\n--s\n\ninner\n--s--\n--s--\n",
        ),
    ];
    for (name, b) in extras {
        out.push(CorpusMessage {
            name: (*name).to_string(),
            bytes: b.to_vec(),
        });
    }
    out
}
