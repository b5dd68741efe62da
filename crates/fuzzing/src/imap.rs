//! IMAP targets: the framer, the command parser, modified UTF-7, and the
//! session state machine ([`session`]).

mod session;
pub use session::session;

use courser_imap::codec::parse::parse_command;
use courser_imap::codec::{utf7 as mutf7, Command, Decoder, Event, Limits};

/// Small limits, so fuzz inputs reach every limit quickly.
fn limits() -> Limits {
    Limits {
        max_line: 512,
        max_prelogin_literal: 1024,
        max_message: 4096,
        max_command: 2048,
        max_depth: 16,
        max_sequence_ranges: 64,
    }
}

/// Feeds `data` to a fresh decoder `chunk` octets at a time and returns
/// every event except [`Event::NeedMore`], with the pieces of each APPEND
/// message joined (their number depends on the reads). Follows the
/// session's mode switches (IDLE, AUTHENTICATE without initial response),
/// logs in after the first command, takes APPEND messages up to
/// `max_message` and refuses bigger ones, and checks the framer's
/// invariants on the way.
fn run_framer(data: &[u8], chunk: usize) -> Vec<Event> {
    let limits = limits();
    let mut decoder = Decoder::new(limits);
    let mut events: Vec<Event> = Vec::new();
    let mut buf = Vec::new();
    // The announced size of the message being received, and what came.
    let mut message: Option<(u64, u64)> = None;
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        // Each event that is not NeedMore consumes input or changes
        // state; a few events without progress are allowed (a BAD after a
        // skipped line, a continuation request), never an endless run.
        let mut idle_rounds = 0;
        loop {
            let before = buf.len();
            let event = decoder.decode(&mut buf);
            assert!(buf.len() <= before, "the framer grew its input buffer");
            if event == Event::NeedMore {
                break;
            }
            if buf.len() == before {
                idle_rounds += 1;
                assert!(idle_rounds <= 4, "the framer makes no progress");
            } else {
                idle_rounds = 0;
            }
            match &event {
                Event::Command { tag, command } => {
                    assert!(!tag.is_empty(), "a command without a tag");
                    decoder.set_authenticated(true);
                    match command {
                        Command::Idle => decoder.expect_idle_done(),
                        Command::Authenticate {
                            initial_response: None,
                            ..
                        } => decoder.expect_authenticate_data(),
                        _ => {}
                    }
                }
                Event::AuthData(bytes) => assert!(bytes.len() <= limits.max_line),
                Event::AppendStart(start) => {
                    if start.size <= limits.max_message {
                        decoder.accept_message();
                        message = Some((start.size, 0));
                    } else {
                        decoder.refuse_message();
                    }
                }
                Event::AppendData(piece) => {
                    let (size, got) = message.as_mut().expect("data of an accepted message");
                    *got += piece.len() as u64;
                    assert!(*got <= *size, "more message data than announced");
                }
                Event::AppendDone => {
                    let (size, got) = message.take().expect("end of an accepted message");
                    assert_eq!(size, got, "message shorter than announced");
                }
                Event::Bad { .. } => message = None,
                _ => {}
            }
            if let (Event::AppendData(piece), Some(Event::AppendData(data))) =
                (&event, events.last_mut())
            {
                data.extend_from_slice(piece);
                continue;
            }
            events.push(event);
        }
    }
    events
}

/// The IMAP framer ([`Decoder`]) with small [`Limits`].
///
/// Checks: no panic; the input buffer never grows; no endless run of
/// events without progress; an APPEND message brings exactly the octets
/// announced; and the events do not depend on how the input was split
/// into reads (whole input vs. one octet at a time, or 61-octet reads for
/// long inputs).
pub fn framer(data: &[u8]) {
    let small = if data.len() <= 4096 { 1 } else { 61 };
    let whole = run_framer(data, data.len());
    let split = run_framer(data, small);
    assert_eq!(whole, split, "framer events depend on read boundaries");
}

/// The IMAP command parser on one complete frame, with and without
/// UTF8=ACCEPT.
///
/// Checks: no panic; a tag the parser reports (with a command or an
/// error) is the start of the frame, and is the same in both modes.
pub fn command(data: &[u8]) {
    let limits = limits();
    let plain = parse_command(data, false, &limits);
    let utf8 = parse_command(data, true, &limits);
    for result in [&plain, &utf8] {
        match result {
            Ok((tag, cmd)) => {
                assert!(
                    data.starts_with(tag.as_bytes()),
                    "tag not taken from the frame"
                );
                assert!(!cmd.name().is_empty());
            }
            Err((Some(tag), _)) => {
                assert!(
                    data.starts_with(tag.as_bytes()),
                    "tag not taken from the frame"
                );
            }
            Err((None, _)) => {}
        }
    }
    if let (Ok((t1, _)), Ok((t2, _))) = (&plain, &utf8) {
        assert_eq!(t1, t2);
    }
}

/// Modified UTF-7 (RFC 3501 §5.1.3).
///
/// Checks: decoding arbitrary bytes never panics; a decoded name encodes
/// to printable ASCII that decodes back to it; and for any text (the input
/// read as lossy UTF-8) encode→decode is the identity.
pub fn utf7(data: &[u8]) {
    if let Some(name) = mutf7::decode(data) {
        let again = mutf7::encode(&name);
        assert!(again.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert_eq!(
            mutf7::decode(again.as_bytes()).as_deref(),
            Some(name.as_str())
        );
    }
    let text = String::from_utf8_lossy(data);
    let encoded = mutf7::encode(&text);
    assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)));
    assert_eq!(
        mutf7::decode(encoded.as_bytes()).as_deref(),
        Some(text.as_ref()),
        "modified UTF-7 encode→decode is not the identity"
    );
}
