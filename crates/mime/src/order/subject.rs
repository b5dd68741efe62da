//! The base subject of RFC 5256 §2.1: what SORT SUBJECT compares and
//! THREAD groups by, with the reply/forward markers taken off.

/// A subject reduced to its base, and whether it was marked as a reply
/// or forward (`Re:`, `Fwd:`, `(fwd)`, `[Fwd: …]`), which THREAD
/// REFERENCES asks when it merges threads (§2.2 step 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BaseSubject {
    /// The base subject as SORT and THREAD compare it, under
    /// i;ascii-casemap: ASCII letters upper-cased.
    pub key: String,
    /// A reply or forward marker was removed.
    pub is_reply: bool,
}

impl BaseSubject {
    /// The base subject of `decoded`, a subject with its encoded words
    /// already decoded (step 1's first half).
    pub fn of(decoded: &str) -> BaseSubject {
        // Step 1: tabs and line breaks to spaces, runs of spaces to one.
        let mut text = String::with_capacity(decoded.len());
        for c in decoded.chars() {
            let c = if matches!(c, '\t' | '\r' | '\n') {
                ' '
            } else {
                c
            };
            if c == ' ' && text.ends_with(' ') {
                continue;
            }
            text.push(c);
        }
        let mut s = text.as_str();
        let mut is_reply = false;
        loop {
            // Step 2: trailing "(fwd)" and white space.
            loop {
                let trimmed = s.trim_end_matches(' ');
                if let Some(rest) = strip_suffix_ci(trimmed, "(fwd)") {
                    is_reply = true;
                    s = rest;
                } else {
                    s = trimmed;
                    break;
                }
            }
            // Steps 3-5: leading blobs and Re/Fw/Fwd, as long as any go.
            loop {
                let before = s;
                s = s.trim_start_matches(' ');
                if let Some(rest) = strip_refwd(s) {
                    is_reply = true;
                    s = rest;
                }
                if let Some(rest) = strip_blob(s) {
                    // A blob goes only if something remains after it.
                    if !rest.trim_start_matches(' ').is_empty() {
                        s = rest;
                    }
                }
                if s == before {
                    break;
                }
            }
            // Step 6: "[fwd: …]" around the whole, then again from step 2.
            match strip_prefix_ci(s, "[fwd:").and_then(|r| r.strip_suffix(']')) {
                Some(inner) => {
                    is_reply = true;
                    s = inner;
                }
                None => break,
            }
        }
        BaseSubject {
            key: s.to_ascii_uppercase(),
            is_reply,
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(suffix.len())?;
    let tail = s.get(at..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..at])
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`: a bracketed tag such as a list
/// name; BLOBCHAR is any character but the brackets.
fn strip_blob(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('[')?;
    let end = rest.find([']', '['])?;
    let rest = rest[end..].strip_prefix(']')?;
    Some(rest.trim_start_matches(' '))
}

/// `*subj-blob subj-refwd`, `subj-refwd = ("re" / ("fw" ["d"])) *WSP
/// [subj-blob] ":"`: the rest after a reply or forward marker, with any
/// blobs before it.
fn strip_refwd(s: &str) -> Option<&str> {
    let mut s = s;
    while let Some(rest) = strip_blob(s) {
        s = rest;
    }
    let rest = strip_prefix_ci(s, "re")
        .or_else(|| strip_prefix_ci(s, "fwd"))
        .or_else(|| strip_prefix_ci(s, "fw"))?;
    let rest = rest.trim_start_matches(' ');
    let rest = strip_blob(rest).unwrap_or(rest);
    rest.strip_prefix(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> (String, bool) {
        let b = BaseSubject::of(s);
        (b.key, b.is_reply)
    }

    #[test]
    fn reply_and_forward_markers_come_off() {
        assert_eq!(base("Re: hello"), ("HELLO".into(), true));
        assert_eq!(base("RE: Fwd: re:hello"), ("HELLO".into(), true));
        assert_eq!(base("Fw: hello (fwd)"), ("HELLO".into(), true));
        assert_eq!(base("hello (FWD) (fwd)  "), ("HELLO".into(), true));
        assert_eq!(base("Re [2]: hello"), ("HELLO".into(), true));
        assert_eq!(base("[Fwd: Re: hello]"), ("HELLO".into(), true));
        assert_eq!(base("[fwd: [list] hello]"), ("HELLO".into(), true));
        assert_eq!(base("hello"), ("HELLO".into(), false));
        assert_eq!(base("  hello\t\tworld "), ("HELLO WORLD".into(), false));
    }

    #[test]
    fn blobs_go_only_when_something_is_left() {
        assert_eq!(base("[list] hello"), ("HELLO".into(), false));
        assert_eq!(base("[list] Re: [other] hello"), ("HELLO".into(), true));
        assert_eq!(base("[list]"), ("[LIST]".into(), false));
        assert_eq!(base("[a] [b]"), ("[B]".into(), false));
        assert_eq!(base("Re: [list]"), ("[LIST]".into(), true));
        // Not a marker: "Re" must be followed by ":" (after spaces and a blob).
        assert_eq!(base("Regarding: x"), ("REGARDING: X".into(), false));
        assert_eq!(base("Re x"), ("RE X".into(), false));
    }

    #[test]
    fn odd_input_stays_whole() {
        assert_eq!(base(""), ("".into(), false));
        assert_eq!(base("Re:"), ("".into(), true));
        assert_eq!(base("[unclosed hello"), ("[UNCLOSED HELLO".into(), false));
        assert_eq!(base("Ré: café"), ("Ré: CAFé".into(), false));
        assert_eq!(BaseSubject::of("re: Café").key, "CAFé");
    }
}
