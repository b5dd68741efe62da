//! Command parsing: one complete line (without its line end) to a
//! [`Command`]. Pure functions.
//!
//! RFC 1939 §3: a case-insensitive keyword of three or four characters,
//! then arguments separated by a single space (we also accept runs of
//! blanks and tabs, as Courier does); message numbers are decimal. `USER`
//! and `PASS` take the rest of the line as their one argument (RFC 1939
//! §7: "a POP3 server may treat spaces in the argument as part of the
//! password").

/// A parsed client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `CAPA` (RFC 2449 §5).
    Capa,
    /// `QUIT` (RFC 1939 §5, §6).
    Quit,
    /// `STLS` (RFC 2595 §4).
    Stls,
    /// `USER name` (RFC 1939 §7).
    User(Vec<u8>),
    /// `PASS secret` (RFC 1939 §7).
    Pass(Vec<u8>),
    /// `AUTH [mechanism [initial-response]]` (RFC 5034 §4; without a
    /// mechanism: list them, as many servers do for old clients).
    Auth {
        /// The SASL mechanism name.
        mechanism: Option<String>,
        /// The initial response, still base64 (`=` for empty).
        initial: Option<Vec<u8>>,
    },
    /// `APOP name digest` (RFC 1939 §7): recognised, not offered.
    Apop,
    /// `STAT` (RFC 1939 §5).
    Stat,
    /// `LIST [msg]` (RFC 1939 §5).
    List(Option<u32>),
    /// `RETR msg` (RFC 1939 §5).
    Retr(u32),
    /// `DELE msg` (RFC 1939 §5).
    Dele(u32),
    /// `NOOP` (RFC 1939 §5).
    Noop,
    /// `RSET` (RFC 1939 §5).
    Rset,
    /// `TOP msg n` (RFC 1939 §7).
    Top(u32, u64),
    /// `UIDL [msg]` (RFC 1939 §7).
    Uidl(Option<u32>),
    /// `XCLIENT NAME=value ...` (Dovecot's; from a trusted proxy, the
    /// client it relays: `ADDR`, `PORT`, `SESSION`). Names in upper case.
    Xclient(Vec<(String, String)>),
}

impl Command {
    /// Every name [`Command::name`] returns: a small fixed set, so the
    /// server can use it as a metrics label.
    pub const NAMES: &'static [&'static str] = &[
        "CAPA", "QUIT", "STLS", "USER", "PASS", "AUTH", "APOP", "STAT", "LIST", "RETR", "DELE",
        "NOOP", "RSET", "TOP", "UIDL", "XCLIENT",
    ];

    /// The command's keyword, upper case, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Quit => "QUIT",
            Command::Stls => "STLS",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Apop => "APOP",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Top(..) => "TOP",
            Command::Uidl(_) => "UIDL",
            Command::Xclient(_) => "XCLIENT",
        }
    }
}

/// Why a line is not a command; the text goes after `-ERR `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Empty line or unknown keyword.
    #[error("Invalid command")]
    Unknown,
    /// A required argument is missing.
    #[error("Missing argument")]
    Missing,
    /// More arguments than the command takes.
    #[error("Too many arguments")]
    TooMany,
    /// A message number or line count that is not a decimal number.
    #[error("Invalid message number")]
    BadNumber,
    /// An XCLIENT argument that is not `NAME=value` in UTF-8.
    #[error("Invalid attribute")]
    BadAttribute,
}

/// Parses one command line.
pub fn command(line: &[u8]) -> Result<Command, ParseError> {
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !is_blank(b)).unwrap_or(line.len());
    let line = &line[start..];
    let kw_len = line.iter().position(is_blank).unwrap_or(line.len());
    let (keyword, rest) = line.split_at(kw_len);
    if keyword.is_empty() || keyword.len() > 7 {
        return Err(ParseError::Unknown);
    }
    let mut kw = [0u8; 7];
    for (d, s) in kw.iter_mut().zip(keyword) {
        *d = s.to_ascii_uppercase();
    }
    let kw = &kw[..keyword.len()];
    // USER and PASS: the rest of the line after the one separating blank.
    let whole = rest.get(1..).unwrap_or_default();
    let args: Vec<&[u8]> = rest.split(is_blank).filter(|a| !a.is_empty()).collect();
    let arity = |min: usize, max: usize| {
        if args.len() < min {
            Err(ParseError::Missing)
        } else if args.len() > max {
            Err(ParseError::TooMany)
        } else {
            Ok(())
        }
    };
    let num = |i: usize| args.get(i).map(|a| number(a)).transpose();
    Ok(match kw {
        b"CAPA" => arity(0, 0).map(|()| Command::Capa)?,
        b"QUIT" => arity(0, 0).map(|()| Command::Quit)?,
        b"STLS" => arity(0, 0).map(|()| Command::Stls)?,
        b"STAT" => arity(0, 0).map(|()| Command::Stat)?,
        b"NOOP" => arity(0, 0).map(|()| Command::Noop)?,
        b"RSET" => arity(0, 0).map(|()| Command::Rset)?,
        b"USER" if whole.is_empty() => return Err(ParseError::Missing),
        b"USER" => Command::User(whole.to_vec()),
        b"PASS" if whole.is_empty() => return Err(ParseError::Missing),
        b"PASS" => Command::Pass(whole.to_vec()),
        b"APOP" => Command::Apop,
        b"AUTH" => {
            arity(0, 2)?;
            let mechanism = match args.first() {
                Some(m) => Some(String::from_utf8(m.to_vec()).map_err(|_| ParseError::Unknown)?),
                None => None,
            };
            Command::Auth {
                mechanism,
                initial: args.get(1).map(|a| a.to_vec()),
            }
        }
        b"LIST" => {
            arity(0, 1)?;
            Command::List(num(0)?)
        }
        b"UIDL" => {
            arity(0, 1)?;
            Command::Uidl(num(0)?)
        }
        b"RETR" | b"DELE" => {
            arity(1, 1)?;
            let n = num(0)?.ok_or(ParseError::Missing)?;
            if kw == b"RETR" {
                Command::Retr(n)
            } else {
                Command::Dele(n)
            }
        }
        b"TOP" => {
            arity(2, 2)?;
            let n = num(0)?.ok_or(ParseError::Missing)?;
            let lines = args.get(1).ok_or(ParseError::Missing)?;
            Command::Top(n, lines_count(lines)?)
        }
        b"XCLIENT" => {
            arity(1, 16)?;
            let pair = |a: &&[u8]| {
                let text = std::str::from_utf8(a).ok()?;
                let (name, value) = text.split_once('=')?;
                (!name.is_empty()).then(|| (name.to_ascii_uppercase(), value.to_owned()))
            };
            let pairs: Option<Vec<_>> = args.iter().map(pair).collect();
            Command::Xclient(pairs.ok_or(ParseError::BadAttribute)?)
        }
        _ => return Err(ParseError::Unknown),
    })
}

/// A message number: decimal digits only. Too large a number is a valid
/// number for no message (0 is kept for the session to refuse).
fn number(arg: &[u8]) -> Result<u32, ParseError> {
    if arg.is_empty() || !arg.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadNumber);
    }
    Ok(arg.iter().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    }))
}

/// TOP's line count: a non-negative decimal number (saturating).
fn lines_count(arg: &[u8]) -> Result<u64, ParseError> {
    if arg.is_empty() || !arg.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadNumber);
    }
    Ok(arg.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_case_insensitive_and_arguments_checked() {
        assert_eq!(command(b"stat"), Ok(Command::Stat));
        assert_eq!(command(b"LiSt"), Ok(Command::List(None)));
        assert_eq!(command(b"LIST 3"), Ok(Command::List(Some(3))));
        assert_eq!(command(b"list\t 3 "), Ok(Command::List(Some(3))));
        assert_eq!(command(b"LIST x"), Err(ParseError::BadNumber));
        assert_eq!(command(b"LIST 1 2"), Err(ParseError::TooMany));
        assert_eq!(command(b"RETR"), Err(ParseError::Missing));
        assert_eq!(command(b"RETR -1"), Err(ParseError::BadNumber));
        assert_eq!(command(b"TOP 1 0"), Ok(Command::Top(1, 0)));
        assert_eq!(command(b"TOP 1"), Err(ParseError::Missing));
        assert_eq!(command(b"DELE 99999999999999"), Ok(Command::Dele(u32::MAX)));
        assert_eq!(command(b""), Err(ParseError::Unknown));
        assert_eq!(command(b"XYZZY"), Err(ParseError::Unknown));
        assert_eq!(command(b"NOOP x"), Err(ParseError::TooMany));
    }

    #[test]
    fn xclient_attributes() {
        assert_eq!(
            command(b"xclient addr=192.0.2.7 Port=4000 SESSION="),
            Ok(Command::Xclient(vec![
                ("ADDR".into(), "192.0.2.7".into()),
                ("PORT".into(), "4000".into()),
                ("SESSION".into(), "".into()),
            ]))
        );
        assert_eq!(command(b"XCLIENT"), Err(ParseError::Missing));
        assert_eq!(command(b"XCLIENT ADDR"), Err(ParseError::BadAttribute));
        assert_eq!(command(b"XCLIENT =x"), Err(ParseError::BadAttribute));
        assert_eq!(command(b"XCLIENTS A=1"), Err(ParseError::Unknown));
    }

    #[test]
    fn every_name_is_listed_and_is_the_keyword() {
        for name in Command::NAMES {
            let line = match *name {
                "USER" | "PASS" | "APOP" => format!("{name} x y"),
                "RETR" | "DELE" => format!("{name} 1"),
                "TOP" => format!("{name} 1 2"),
                "XCLIENT" => format!("{name} ADDR=x"),
                _ => name.to_string(),
            };
            let parsed = command(line.to_ascii_lowercase().as_bytes());
            assert_eq!(parsed.map(|c| c.name()), Ok(*name));
        }
    }

    #[test]
    fn user_and_pass_take_the_rest_of_the_line() {
        assert_eq!(command(b"USER a b"), Ok(Command::User(b"a b".to_vec())));
        assert_eq!(
            command(b"pass  two  spaces "),
            Ok(Command::Pass(b" two  spaces ".to_vec()))
        );
        assert_eq!(command(b"PASS"), Err(ParseError::Missing));
        assert_eq!(command(b"USER "), Err(ParseError::Missing));
    }

    #[test]
    fn auth_forms() {
        assert_eq!(
            command(b"AUTH PLAIN dGVzdA=="),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some(b"dGVzdA==".to_vec())
            })
        );
        assert_eq!(
            command(b"AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial: None
            })
        );
        assert_eq!(command(b"AUTH \xff"), Err(ParseError::Unknown));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line: Vec<u8>) {
            let _ = command(&line);
        }
    }
}
