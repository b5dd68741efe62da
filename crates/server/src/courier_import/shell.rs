//! Courier's start-script configuration files (`imapd`, `imapd-ssl`,
//! `pop3d`, `pop3d-ssl`, `authdaemonrc`) as `/bin/sh` reads them: the
//! start scripts source them with `.`, so they are shell, limited here to
//! what a configuration file uses.
//!
//! * `NAME=value` assignments, several per line allowed, `;` between
//!   commands; a value is one shell word: `'…'` literal, `"…"` with `$`
//!   expansion and `\` before `$ " \` and newline, `\x` outside quotes is
//!   `x`;
//! * `$NAME` and `${NAME}` expand to the value of an earlier assignment in
//!   the same environment (the files a start script sources one after the
//!   other), unset names to nothing;
//! * `\` at the end of a line joins the next one (inside `'…'` it does
//!   not); a `#` that starts a word starts a comment, so `##NAME:` headers
//!   are comments;
//! * anything else — a command, `$(…)`, backquotes, `${NAME:-x}`,
//!   redirections, an unterminated quote — is reported as a problem with
//!   its line, and nothing on that line is assigned.

use std::collections::HashMap;

/// One `NAME=value` assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Line number (1-based) where the assignment starts.
    pub line: usize,
    /// The variable.
    pub name: String,
    /// The value after quote removal and expansion.
    pub value: String,
}

/// A parsed file: its assignments in order and the lines it could not use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellFile {
    /// Assignments in file order (a name may repeat; the last one counts).
    pub assignments: Vec<Assignment>,
    /// `(line, what is wrong)` for each command that is not plain
    /// assignments.
    pub problems: Vec<(usize, String)>,
}

/// Parses `text`, expanding `$NAME` from `env` (the variables earlier
/// files set) and adding this file's assignments to it.
pub fn parse(text: &str, env: &mut HashMap<String, String>) -> ShellFile {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut file = ShellFile::default();
    loop {
        p.skip_blanks();
        let Some(c) = p.peek() else { break };
        match c {
            '\n' | ';' => {
                p.bump();
            }
            '#' => p.skip_line(),
            _ => {
                let (start, from) = (p.line, p.pos);
                match p.command(env) {
                    Ok(assignments) => {
                        for a in &assignments {
                            env.insert(a.name.clone(), a.value.clone());
                        }
                        file.assignments.extend(assignments);
                    }
                    Err(why) => {
                        file.problems.push((start, why));
                        // Go on after the line where the command started,
                        // even if a quote in it never closes.
                        (p.line, p.pos) = (start, from);
                        p.skip_line();
                    }
                }
            }
        }
    }
    file
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Spaces, tabs and `\`-newline joins.
    fn skip_blanks(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(' ' | '\t' | '\r'), _) => {
                    self.bump();
                }
                (Some('\\'), Some('\n')) => {
                    self.bump();
                    self.bump();
                }
                _ => return,
            }
        }
    }

    /// To the end of the line, honouring `\`-newline joins.
    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            match c {
                '\n' => return,
                '\\' if self.peek() == Some('\n') => {
                    self.bump();
                }
                _ => {}
            }
        }
    }

    /// The text from here to the end of the line, for messages.
    fn rest_of_line(&self, from: usize) -> String {
        self.chars[from..]
            .iter()
            .take_while(|&&c| c != '\n')
            .collect::<String>()
            .trim()
            .to_owned()
    }

    /// One command: words up to a newline, `;` or comment, each of which
    /// must be an assignment. Expansions see the earlier assignments of the
    /// same command, as in sh.
    fn command(&mut self, env: &HashMap<String, String>) -> Result<Vec<Assignment>, String> {
        let from = self.pos;
        let mut local = env.clone();
        let mut out = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                None | Some('\n' | ';' | '#') => return Ok(out),
                Some(_) => {}
            }
            let line = self.line;
            let name: String = self.chars[self.pos..]
                .iter()
                .take_while(|&&c| is_name_char(c))
                .collect();
            let is_assignment = name.chars().next().is_some_and(is_name_start)
                && self.peek_at(name.chars().count()) == Some('=');
            if !is_assignment {
                return Err(format!(
                    "`{}` is not a NAME=value assignment (Courier's start script would run it \
                     as a command); ignored",
                    self.rest_of_line(from)
                ));
            }
            self.pos += name.chars().count() + 1;
            let value = self
                .word(&local)
                .map_err(|e| format!("`{}`: {e}; ignored", self.rest_of_line(from)))?;
            local.insert(name.clone(), value.clone());
            out.push(Assignment { line, name, value });
        }
    }

    /// One word's value: quotes removed, `$NAME` expanded.
    fn word(&mut self, env: &HashMap<String, String>) -> Result<String, String> {
        let mut value = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Ok(value);
            };
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' => return Ok(value),
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(c) => value.push(c),
                    }
                }
                '\'' => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err("unterminated '".into()),
                            Some('\'') => break,
                            Some(c) => value.push(c),
                        }
                    }
                }
                '"' => {
                    self.bump();
                    loop {
                        match self.peek() {
                            None => return Err("unterminated \"".into()),
                            Some('"') => {
                                self.bump();
                                break;
                            }
                            Some('\\') => {
                                self.bump();
                                match self.bump() {
                                    Some('\n') => {}
                                    Some(c @ ('$' | '`' | '"' | '\\')) => value.push(c),
                                    Some(c) => {
                                        value.push('\\');
                                        value.push(c);
                                    }
                                    None => return Err("unterminated \"".into()),
                                }
                            }
                            Some('$') => self.dollar(env, &mut value)?,
                            Some('`') => return Err("command substitution is not supported".into()),
                            Some(c) => {
                                self.bump();
                                value.push(c);
                            }
                        }
                    }
                }
                '$' => self.dollar(env, &mut value)?,
                '`' => return Err("command substitution is not supported".into()),
                '|' | '&' | '<' | '>' | '(' | ')' => {
                    return Err(format!("shell operator `{c}` is not supported"))
                }
                c => {
                    self.bump();
                    value.push(c);
                }
            }
        }
    }

    /// `$NAME`, `${NAME}`, or a lone `$`.
    fn dollar(&mut self, env: &HashMap<String, String>, value: &mut String) -> Result<(), String> {
        self.bump();
        let braced = self.peek() == Some('{');
        if braced {
            self.bump();
        } else if self.peek() == Some('(') {
            return Err("command substitution is not supported".into());
        }
        let name: String = self.chars[self.pos..]
            .iter()
            .take_while(|&&c| is_name_char(c))
            .collect();
        if !name.chars().next().is_some_and(is_name_start) {
            if braced {
                return Err("only ${NAME} expansions are supported".into());
            }
            // sh keeps a `$` that starts no expansion.
            value.push('$');
            return Ok(());
        }
        self.pos += name.chars().count();
        if braced {
            if self.peek() != Some('}') {
                return Err("only ${NAME} expansions are supported".into());
            }
            self.bump();
        }
        if let Some(v) = env.get(&name) {
            value.push_str(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = (Vec<(usize, String, String)>, Vec<(usize, String)>);

    fn values(text: &str) -> Parsed {
        let mut env = HashMap::new();
        let f = parse(text, &mut env);
        (
            f.assignments
                .into_iter()
                .map(|a| (a.line, a.name, a.value))
                .collect(),
            f.problems,
        )
    }

    fn one(text: &str) -> String {
        let (a, p) = values(text);
        assert!(p.is_empty(), "{text:?}: {p:?}");
        assert_eq!(a.len(), 1, "{text:?}: {a:?}");
        a[0].2.clone()
    }

    #[test]
    fn words_as_sh_reads_them() {
        for (text, value) in [
            ("A=1", "1"),
            ("A=1 # comment", "1"),
            ("A=x#y", "x#y"),
            ("A=\"two words\"", "two words"),
            ("A='$B \\ \"q\"'", "$B \\ \"q\""),
            ("A=\"a\\\"b\\$c\\\\d\\e\"", "a\"b$c\\d\\e"),
            ("A=a\\ b", "a b"),
            ("A=", ""),
            ("A=\"\"", ""),
            ("  A=pre\"mid\"'post'", "premidpost"),
            ("A=\"line\\\nnext\"", "linenext"),
            ("A=one\\\ntwo", "onetwo"),
            ("A='multi\nline'", "multi\nline"),
            ("A=cost$", "cost$"),
            ("A=\"$1x\"", "$1x"),
        ] {
            assert_eq!(one(text), value, "{text:?}");
        }
    }

    #[test]
    fn expansion_uses_earlier_settings() {
        let mut env = HashMap::new();
        parse("CAP=\"IMAP4rev1 IDLE\"\n", &mut env);
        let f = parse(
            "TLS=\"$CAP AUTH=PLAIN\"\nB=${CAP}x\nC=$UNSET.\nD=1 E=$D\n",
            &mut env,
        );
        let got: Vec<_> = f.assignments.iter().map(|a| a.value.as_str()).collect();
        assert_eq!(
            got,
            [
                "IMAP4rev1 IDLE AUTH=PLAIN",
                "IMAP4rev1 IDLEx",
                ".",
                "1",
                "1"
            ]
        );
        assert_eq!(env["E"], "1");
    }

    #[test]
    fn comments_headers_and_lines() {
        let (a, p) =
            values("##NAME: PORT:1\n#\n# PORT=999\n\nPORT=143\nA=1; B=2\nC=\"x\ny\" D=3\nE=4\n");
        assert!(p.is_empty(), "{p:?}");
        let got: Vec<_> = a.iter().map(|(l, n, _)| (*l, n.as_str())).collect();
        assert_eq!(
            got,
            [
                (5, "PORT"),
                (6, "A"),
                (6, "B"),
                (7, "C"),
                (8, "D"),
                (9, "E")
            ]
        );
    }

    #[test]
    fn what_is_not_an_assignment_is_a_problem_and_assigns_nothing() {
        for text in [
            "garbage line here",
            "export A",
            "A=1 command",
            "A=$(hostname)",
            "A=`hostname`",
            "A=\"unterminated",
            "A='unterminated",
            "A=${B:-x}",
            "A=1 >file",
            "1A=2",
            "=x",
        ] {
            let (a, p) = values(&format!("{text}\nOK=1\n"));
            assert_eq!(a.len(), 1, "{text:?}: {a:?}");
            assert_eq!(a[0].1, "OK", "{text:?}");
            assert_eq!(p.len(), 1, "{text:?}: {p:?}");
            assert_eq!(p[0].0, 1, "{text:?}");
        }
        // An unterminated quote swallows the rest of the file in sh; here
        // it is reported at the line where it starts.
        let (_, p) = values("A=1\nB=\"open\nC=2\n");
        assert_eq!(p[0].0, 2, "{p:?}");
    }
}
