//! One folder's ACL: its entries in file order, the file format, and the
//! ACL2=UNION computation of a login's rights.

use super::identifier::{self, Identifier, NEGATIVE};
use super::rights::{self, Rights};
use crate::error::{Error, Result};

/// One `identifier rights` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclEntry {
    identifier: Vec<u8>,
    rights: Rights,
}

impl AclEntry {
    /// The identifier as stored (with its `-` if negative).
    pub fn identifier(&self) -> &[u8] {
        &self.identifier
    }

    /// The rights granted (or, for a negative entry, revoked).
    pub fn rights(&self) -> &Rights {
        &self.rights
    }
}

/// A folder's access control list, entries in the order of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclList {
    entries: Vec<AclEntry>,
}

/// Courier reads the file with `fgets` into a buffer of this size: longer
/// lines are read as several lines.
const LINE_BUFFER: usize = 8191;

impl AclList {
    /// An empty list.
    pub fn new() -> AclList {
        AclList::default()
    }

    /// INBOX's ACL when it has no file: `owner` with every right, and the
    /// administrators entry.
    pub fn inbox_default() -> AclList {
        let mut l = AclList::new();
        l.push(b"owner", Rights::all());
        l.normalise();
        l
    }

    /// The ACL of every folder of an account with `disableshared=1`: the
    /// owner has every right but `a` (ACL changes are refused), and the
    /// administrators entry.
    pub fn disabled() -> AclList {
        let mut owner = Rights::all();
        owner.remove(&[rights::ADMINISTER]);
        let mut l = AclList::new();
        l.push(b"owner", owner);
        l.normalise();
        l
    }

    /// The entries in order.
    pub fn entries(&self) -> &[AclEntry] {
        &self.entries
    }

    /// The rights of `identifier`, if it has an entry.
    pub fn get(&self, identifier: impl AsRef<[u8]>) -> Option<&Rights> {
        let id = identifier.as_ref();
        self.entries
            .iter()
            .find(|e| e.identifier == id)
            .map(|e| &e.rights)
    }

    /// Sets the rights of `identifier`: its entry keeps its place, a new one
    /// goes last. An empty identifier or one with a space or control
    /// character is refused.
    pub fn set(&mut self, identifier: impl AsRef<[u8]>, rights: Rights) -> Result<()> {
        let id = identifier.as_ref();
        if !identifier::is_valid(id) {
            return Err(Error::InvalidAcl(
                "identifier is empty or has a space or control character",
            ));
        }
        self.push(id, rights);
        Ok(())
    }

    fn push(&mut self, id: &[u8], rights: Rights) {
        match self.entries.iter_mut().find(|e| e.identifier == id) {
            Some(e) => e.rights = rights,
            None => self.entries.push(AclEntry {
                identifier: id.to_vec(),
                rights,
            }),
        }
    }

    /// Removes the entry of `identifier`; true if there was one.
    pub fn remove(&mut self, identifier: impl AsRef<[u8]>) -> bool {
        let id = identifier.as_ref();
        let before = self.entries.len();
        self.entries.retain(|e| e.identifier != id);
        self.entries.len() != before
    }

    /// Parses a `courierimapacl` file the way Courier does: a line is
    /// `identifier`, spaces, rights; a line whose identifier or rights are
    /// not storable is skipped (a repeated identifier with bad rights
    /// empties the earlier entry's rights); a later line for an identifier
    /// replaces the earlier rights in place. The result is normalised (see
    /// [`AclList::normalise`]).
    pub fn parse(text: &[u8]) -> AclList {
        let mut l = AclList::new();
        for line in fgets_lines(text) {
            let (id, rest) = match line.iter().position(|&b| b == b' ') {
                Some(i) => (&line[..i], &line[i..]),
                None => (line, &line[line.len()..]),
            };
            let rest = &rest[rest.iter().take_while(|&&b| b == b' ').count()..];
            if !identifier::is_valid(id) {
                continue;
            }
            match Rights::parse(rest) {
                Ok(r) => l.push(id, r),
                // Courier empties an earlier entry before finding the new
                // rights bad
                Err(_) => {
                    if let Some(e) = l.entries.iter_mut().find(|e| e.identifier == id) {
                        e.rights = Rights::empty();
                    }
                }
            }
        }
        l.normalise();
        l
    }

    /// The file contents: `identifier rights` lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            out.extend_from_slice(&e.identifier);
            out.push(b' ');
            out.extend_from_slice(e.rights.as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Courier's normalisation on every read: the administrators entry
    /// (`group=administrators` if there is one, else `administrators`,
    /// added last if missing) gets every right, and the negative
    /// administrators entries are dropped.
    pub fn normalise(&mut self) {
        let admin: &[u8] = if self.get("group=administrators").is_some() {
            b"group=administrators"
        } else {
            b"administrators"
        };
        let mut all = Rights::all();
        if let Some(old) = self.get(admin) {
            all.add(old);
        }
        self.push(admin, all);
        self.remove("-administrators");
        self.remove("-group=administrators");
    }

    /// The rights (ACL2=UNION) of a login holding the identifiers for
    /// which `holds` is true: the union of the rights of the positive
    /// entries that apply, minus those of the negative entries that apply.
    /// `anyone`/`anonymous` always apply; both spellings of administrators
    /// apply if either is held. With `owner_admin`, a holder of `owner`
    /// also gets `a` whatever the list says.
    pub fn compute(&self, holds: impl Fn(&[u8]) -> bool, owner_admin: bool) -> Rights {
        let applies = |id: &[u8]| match Identifier::classify(id).1 {
            Identifier::Anyone => true,
            Identifier::Administrators => {
                holds(b"administrators") || holds(b"group=administrators")
            }
            _ => holds(id),
        };
        let mut r = Rights::empty();
        for e in self
            .entries
            .iter()
            .filter(|e| e.identifier.first() != Some(&NEGATIVE))
        {
            if applies(&e.identifier) {
                r.add(&e.rights);
            }
        }
        for e in &self.entries {
            if let Some(id) = e.identifier.strip_prefix(&[NEGATIVE]) {
                if applies(id) {
                    r.remove(e.rights.as_bytes());
                }
            }
        }
        if owner_admin && holds(b"owner") {
            r.add(&Rights::parse([rights::ADMINISTER]).unwrap_or_default());
        }
        r
    }

    /// The check before a write: `owner` (and `owner_identity`, e.g.
    /// `user=bob`, if given) must keep `l` and `a`
    /// ([`Error::AclMinimumRights`] names who would lose them), and
    /// administrators must keep every right ([`Error::InvalidAcl`]).
    pub fn check_minimum(&self, owner_identity: Option<&[u8]>) -> Result<()> {
        let minimum = Rights::parse([rights::ADMINISTER, rights::LOOKUP]).unwrap_or_default();
        let is_owner = |id: &[u8]| id == b"owner";
        if !self.compute(is_owner, false).has_all(&minimum) {
            return Err(Error::AclMinimumRights("owner".into()));
        }
        if let Some(who) = owner_identity {
            if !self
                .compute(|id| is_owner(id) || id == who, false)
                .has_all(&minimum)
            {
                return Err(Error::AclMinimumRights(String::from_utf8_lossy(who).into()));
            }
        }
        if !self
            .compute(|id| id == b"administrators", true)
            .has_all(&Rights::all())
        {
            return Err(Error::InvalidAcl("administrators must keep every right"));
        }
        Ok(())
    }
}

/// The lines as Courier's `fgets` loop sees them: at most
/// [`LINE_BUFFER`] bytes each, newline removed, cut at a NUL byte.
fn fgets_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = match rest.iter().take(LINE_BUFFER).position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => rest.len().min(LINE_BUFFER),
        };
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        let chunk = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        let end = chunk.iter().position(|&b| b == 0).unwrap_or(chunk.len());
        Some(&chunk[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &AclList) -> String {
        String::from_utf8(l.to_bytes()).unwrap()
    }

    #[test]
    fn parse_keeps_order_and_adds_administrators_last() {
        let l = AclList::parse(b"user=b rl\nowner  lra\nanyone\n");
        assert_eq!(
            text(&l),
            "user=b lr\nowner alr\nanyone \nadministrators aceilrstwx\n"
        );
    }

    #[test]
    fn parse_skips_what_courier_skips() {
        let l = AclList::parse(b"\n\towner a\nowner lr\nuser=x r w\nuser=y r\r\nuser=z l\0junk\n");
        assert_eq!(text(&l), "owner lr\nuser=z l\nadministrators aceilrstwx\n");
    }

    #[test]
    fn parse_repeated_identifier_replaces_in_place() {
        let l = AclList::parse(b"owner l\nanyone r\nowner la\nanyone r x\n");
        assert_eq!(text(&l), "owner al\nanyone \nadministrators aceilrstwx\n");
    }

    #[test]
    fn parse_splits_lines_longer_than_courier_buffer() {
        let mut f = b"user=".to_vec();
        f.extend(std::iter::repeat_n(b'x', LINE_BUFFER - 5));
        f.extend_from_slice(b"owner al\n");
        let l = AclList::parse(&f);
        assert_eq!(l.entries()[1].identifier(), b"owner");
    }

    #[test]
    fn normalise_administrators() {
        let l = AclList::parse(b"administrators r\n-administrators l\n-group=administrators x\n");
        assert_eq!(text(&l), "administrators aceilrstwx\n");
        let l = AclList::parse(b"administrators r\ngroup=administrators q\n");
        assert_eq!(
            text(&l),
            "administrators r\ngroup=administrators aceilqrstwx\n"
        );
    }

    #[test]
    fn set_validates_the_identifier() {
        let mut l = AclList::new();
        assert!(l.set("user=a b", Rights::empty()).is_err());
        assert!(l.set("", Rights::empty()).is_err());
        l.set("user=a", Rights::parse("r").unwrap()).unwrap();
        l.set("owner", Rights::all()).unwrap();
        l.set("user=a", Rights::parse("l").unwrap()).unwrap();
        assert_eq!(text(&l), "user=a l\nowner aceilrstwx\n");
        assert!(l.remove("user=a") && !l.remove("user=a"));
    }

    #[test]
    fn minimum_rights_check() {
        let ok = AclList::inbox_default();
        ok.check_minimum(Some(b"user=me")).unwrap();
        let mut l = ok.clone();
        l.set("-anyone", Rights::parse("l").unwrap()).unwrap();
        assert!(matches!(l.check_minimum(None), Err(Error::AclMinimumRights(w)) if w == "owner"));
        let mut l = ok.clone();
        l.set("-user=me", Rights::parse("a").unwrap()).unwrap();
        l.check_minimum(None).unwrap();
        assert!(
            matches!(l.check_minimum(Some(b"user=me")), Err(Error::AclMinimumRights(w)) if w == "user=me")
        );
        let mut l = ok.clone();
        l.set("administrators", Rights::parse("r").unwrap())
            .unwrap();
        assert!(matches!(l.check_minimum(None), Err(Error::InvalidAcl(_))));
        // either spelling of administrators counts
        l.set("group=administrators", Rights::all()).unwrap();
        l.check_minimum(None).unwrap();
    }

    #[test]
    fn compute_for_given_identifiers() {
        let l = AclList::parse(b"owner lr\nanonymous i\n-anyone r\nuser=a w\n");
        let ids =
            |set: &'static [&'static str]| move |id: &[u8]| set.iter().any(|s| s.as_bytes() == id);
        assert_eq!(l.compute(ids(&["owner"]), true).to_string(), "ail");
        assert_eq!(l.compute(ids(&["owner"]), false).to_string(), "il");
        assert_eq!(l.compute(ids(&["user=a"]), true).to_string(), "iw");
        assert_eq!(
            l.compute(ids(&["group=administrators"]), true).to_string(),
            "aceilstwx"
        );
    }

    #[test]
    fn defaults() {
        assert_eq!(
            text(&AclList::inbox_default()),
            "owner aceilrstwx\nadministrators aceilrstwx\n"
        );
        assert_eq!(
            text(&AclList::disabled()),
            "owner ceilrstwx\nadministrators aceilrstwx\n"
        );
    }
}
