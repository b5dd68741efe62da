//! POP3 targets: the line framer (with the command parser behind it),
//! Courier's `courierpop3dsizelist`, and the session state machine.

mod session;

pub use session::session;

use courser_pop3::codec::parse::Command;
use courser_pop3::codec::{Decoder, Event, Limits};
use courser_pop3::maildrop::sizelist;

/// Small limits, so fuzz inputs reach them quickly.
const LIMITS: Limits = Limits {
    max_command: 64,
    max_sasl: 256,
};

/// Feeds `data` `chunk` octets at a time; returns the events except
/// [`Event::NeedMore`], checking the framer's invariants.
fn run_framer(data: &[u8], chunk: usize) -> Vec<Event> {
    let mut decoder = Decoder::new(LIMITS);
    let mut events = Vec::new();
    let mut buf = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            let event = decoder.decode(&mut buf);
            assert!(buf.len() <= before, "the framer grew its input buffer");
            // The framer holds at most one line of the largest limit (plus
            // a CR) while it waits for the line end.
            assert!(buf.len() <= LIMITS.max_sasl + 1 + chunk.max(1));
            match &event {
                Event::NeedMore => break,
                Event::SaslResponse(line) => assert!(line.len() <= LIMITS.max_sasl),
                Event::Command(command) => {
                    assert!(Command::NAMES.contains(&command.name()));
                    if let Command::Auth {
                        mechanism: Some(_),
                        initial: None,
                    } = command
                    {
                        decoder.expect_sasl_response();
                    }
                }
                Event::Bad(text) => assert!(!text.is_empty()),
            }
            assert!(buf.len() < before, "an event without consuming input");
            events.push(event);
        }
    }
    events
}

/// The POP3 framer ([`Decoder`]) with small [`Limits`], which runs the
/// command parser on every line.
///
/// Checks: no panic; the buffer never grows and stays within one line of
/// the limit; every event consumes input; SASL responses respect
/// `max_sasl`; and the events do not depend on read boundaries (whole
/// input vs. one octet at a time).
pub fn framer(data: &[u8]) {
    let whole = run_framer(data, data.len());
    let small = if data.len() <= 4096 { 1 } else { 61 };
    assert_eq!(
        whole,
        run_framer(data, small),
        "events depend on read boundaries"
    );
}

/// `courierpop3dsizelist` parsing ([`sizelist::parse`]).
///
/// Checks: no panic; entries come out sorted in Courier's order, each
/// with a non-empty name; and writing the parsed list back
/// ([`sizelist::serialize`]) and reading it again gives the same list,
/// for entries that survive a rewrite unchanged (no `/` in the name, line
/// short enough for Courier's reader).
pub fn sizelist(data: &[u8]) {
    let list = sizelist::parse(Some(data));
    for pair in list.entries.windows(2) {
        assert_ne!(
            sizelist::compare_names(&pair[0].name, &pair[1].name),
            std::cmp::Ordering::Greater,
            "entries not sorted"
        );
    }
    for e in &list.entries {
        assert!(!e.name.is_empty());
        // A uid-0 entry named `:…` gives an empty UIDL, as Courier does.
        let _ = e.uidl();
    }
    if list.entries.is_empty() {
        return;
    }
    let uidv = list.uidv.unwrap_or(1);
    let kept: Vec<_> = list
        .entries
        .iter()
        .filter(|e| {
            !e.name.contains(&b'/')
                && sizelist::serialize(0, 0, std::slice::from_ref(e)).len() < 2000
        })
        .cloned()
        .collect();
    let again = sizelist::parse(Some(&sizelist::serialize(list.nextuid, uidv, &kept)));
    assert_eq!(again.nextuid, list.nextuid);
    assert_eq!(again.uidv, Some(uidv));
    assert!(!again.upgrade);
    assert_eq!(
        again.entries, kept,
        "sizelist serialize→parse changed entries"
    );
}
