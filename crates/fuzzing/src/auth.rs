//! Authentication targets: userdb source files and records, and the
//! authdaemond/authpipe wire protocol.

use std::io::Cursor;
use std::path::Path;

use courser_auth::userdb::{Record, Userdb};
use courser_auth::wire::{self, Reply, Request, MAX_AUTH_LEN, MAX_LINE, MAX_LINES};

/// A passwd file that does not exist: `USERNAME=` lookups fail cleanly.
const NO_PASSWD: &str = "/nonexistent/courser-fuzz/passwd";

/// A userdb source file ([`Userdb::add_text`]) and its records
/// ([`Record::parse`]).
///
/// Checks: no panic; every record round-trips through its text form;
/// lookups and secret detection complete; and a line's record parses the
/// same as the record the database kept for that name.
pub fn userdb(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut db = Userdb::default();
    let _ = db.add_text(&text, "fuzz");
    let _ = db.secret_kinds();
    for name in db.names() {
        let record = db.get(name).expect("a listed name has a record");
        let again = Record::parse(&record.to_text());
        assert_eq!(&again, record, "userdb record text round-trip");
        for field in ["home", "uid", "gid", "mail", "quota", "options", "systempw"] {
            let _ = record.get(field);
            let _ = record.secret(field);
        }
        let _ = record.secret_kinds();
    }
    // The whole input as the part of one line after the TAB.
    let record = Record::parse(&text);
    assert_eq!(Record::parse(&record.to_text()), record);
}

/// The authdaemond/authpipe wire format: requests ([`wire::read_request`])
/// and replies ([`wire::read_reply`], [`wire::record_to_entry`],
/// [`wire::read_passwd_reply`]).
///
/// Checks: no panic and bounded reads (lines, records and `AUTH`
/// payloads within [`MAX_LINE`], [`MAX_LINES`], [`MAX_AUTH_LEN`]); a
/// request read from the input is re-encoded and read back the same; a
/// reply record that makes an account encodes ([`wire::encode_entry`])
/// to a reply that makes the same account.
pub fn wire(data: &[u8]) {
    // Requests: read them all, as the helper does on one connection.
    let mut input = Cursor::new(data);
    for _ in 0..16 {
        let start = input.position();
        match wire::read_request(&mut input) {
            Ok(Some(request)) => {
                let used = (input.position() - start) as usize;
                assert!(used <= (MAX_LINES + 2) * (MAX_LINE + 1) + MAX_AUTH_LEN);
                check_request(&request);
            }
            Ok(None) | Err(_) => break,
        }
    }
    // The answer to PASSWD: one bounded line, never a panic.
    let _ = wire::read_passwd_reply(&mut Cursor::new(data));
    // A reply.
    let mut input = Cursor::new(data);
    if let Ok(Reply::Record(fields)) = wire::read_reply(&mut input) {
        assert!(fields.len() <= MAX_LINES);
        let Ok(entry) = wire::record_to_entry(&fields, "fuzz@example.org", Path::new(NO_PASSWD))
        else {
            return;
        };
        let bytes = wire::encode_entry(&entry, true);
        let Ok(Reply::Record(again)) = wire::read_reply(&mut Cursor::new(&bytes)) else {
            panic!("an encoded entry does not read back as a record");
        };
        let back = wire::record_to_entry(&again, "other@example.org", Path::new(NO_PASSWD))
            .expect("an encoded entry makes an account");
        assert!(
            back.account == entry.account,
            "reply round-trip changed the account"
        );
        assert_eq!(back.password, entry.password);
        assert_eq!(back.clear_password, entry.clear_password);
    }
}

/// Encodes a request read from the wire and reads it back.
fn check_request(request: &Request) {
    let Ok(bytes) = request.encode() else { return };
    let again = wire::read_request(&mut Cursor::new(&bytes))
        .expect("an encoded request reads back")
        .expect("an encoded request is not empty");
    assert!(
        &again == request,
        "request round-trip changed it: {request:?}"
    );
}
