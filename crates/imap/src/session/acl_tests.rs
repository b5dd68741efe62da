//! ACL session tests: the ACL commands' answers and bad input, and the
//! rights check of every command, on the in-memory store. `u` owns the
//! account; `bob` is served the same account with the rights its ACLs
//! give him.

use super::tests::{config, run};
use super::Session;
use crate::mailstore::{AclList, AclUser, Flags, MailStore, MemoryStore, Rights};

const MSG: &[u8] = b"From: a@example.org\nSubject: test\n\nbody\n";

/// The owner's session on `st`.
fn owner(st: &MemoryStore) -> Session {
    Session::preauthenticated(config(), "u", Box::new(st.clone()))
}

/// `user`'s session on `st` (the account of `u`), with authlib `options`.
fn as_user(st: &MemoryStore, user: &str, options: &str) -> Session {
    let store = st.served_to(AclUser::new(user, "u", options));
    Session::preauthenticated(config(), user, Box::new(store))
}

/// An account with INBOX.a and INBOX.b, one message in each and two in
/// INBOX, where bob has `rights` on every folder.
fn shared_with_bob(rights: &str) -> MemoryStore {
    let st = MemoryStore::new();
    st.create_folder("INBOX.a").unwrap();
    st.create_folder("INBOX.b").unwrap();
    for f in ["INBOX", "INBOX", "INBOX.a", "INBOX.b"] {
        st.deliver(f, MSG, Flags::FLAGGED).unwrap();
    }
    for f in ["INBOX", "INBOX.a", "INBOX.b"] {
        set(&st, f, "user=bob", rights);
        // the owner has seen them: no \Recent for bob
        run(&mut owner(&st), &format!("s SELECT {f}\r\n"));
    }
    st
}

fn set(st: &MemoryStore, folder: &str, id: &str, rights: &str) {
    let r = Rights::parse(rights).unwrap();
    st.edit_acl(folder, &mut |l: &mut AclList| l.set(id, r.clone()))
        .unwrap();
}

fn stored(st: &MemoryStore, folder: &str) -> String {
    String::from_utf8(st.acl(folder).unwrap().to_bytes()).unwrap()
}

fn tagged<'a>(out: &'a str, tag: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{tag} ")))
        .unwrap_or_else(|| panic!("no {tag} in {out}"))
}

#[test]
fn acl_is_advertised_unless_turned_off() {
    let st = MemoryStore::new();
    let mut s = owner(&st);
    let out = run(&mut s, "a CAPABILITY\r\n");
    assert!(out.contains(" ACL ACL2=UNION"), "{out}");
    assert!(!out.contains("RIGHTS="), "{out}");
    s.offer_acl(false);
    let out = run(&mut s, "b CAPABILITY\r\nc MYRIGHTS INBOX\r\n");
    assert!(!out.contains(" ACL"), "{out}");
    // Only the advertising: the commands still work.
    assert!(out.contains("c OK"), "{out}");
}

#[test]
fn getacl_shows_entries_the_rfc_2086_way() {
    let st = MemoryStore::new();
    set(&st, "INBOX", "group=staff", "lr");
    set(&st, "INBOX", "-user=eve", "lrtx");
    let mut s = owner(&st);
    let out = run(&mut s, "a GETACL INBOX\r\n");
    assert_eq!(
        out,
        "* ACL \"INBOX\" owner acdilrsw administrators acdilrsw -eve lr\r\n\
         a OK GETACL completed.\r\n"
    );
}

#[test]
fn setacl_and_deleteacl_change_the_stored_list() {
    let st = MemoryStore::new();
    let mut s = owner(&st);
    let out = run(
        &mut s,
        "a SETACL INBOX bob lr\r\nb SETACL INBOX -bob +w\r\nc SETACL INBOX carol d\r\n\
         d SETACL INBOX carol -t\r\ne SETACL INBOX anyone l\r\n",
    );
    for t in ["a", "b", "c", "d", "e"] {
        assert_eq!(tagged(&out, t), format!("{t} OK ACLs updated."), "{out}");
    }
    assert_eq!(
        stored(&st, "INBOX"),
        "owner aceilrstwx\nadministrators aceilrstwx\nuser=bob lr\n-user=bob w\n\
         user=carol ex\nanyone l\n"
    );
    let out = run(&mut s, "f GETACL INBOX\r\n");
    assert!(
        out.contains(" bob lr -bob w carol \"\" anyone l\r\n"),
        "{out}"
    );
    let out = run(
        &mut s,
        "g DELETEACL INBOX bob\r\nh SETACL INBOX carol \"\"\r\ni SETACL INBOX -bob -w\r\n\
         j DELETEACL INBOX nobody\r\n",
    );
    for t in ["g", "h", "i", "j"] {
        assert!(tagged(&out, t).starts_with(&format!("{t} OK")), "{out}");
    }
    assert_eq!(
        stored(&st, "INBOX"),
        "owner aceilrstwx\nadministrators aceilrstwx\nanyone l\n"
    );
}

#[test]
fn setacl_refusals_change_nothing() {
    let st = MemoryStore::new();
    let mut s = owner(&st);
    run(&mut s, "a SETACL INBOX bob lr\r\n");
    let before = stored(&st, "INBOX");
    let cases = [
        (
            "b SETACL INBOX owner lr",
            "b NO [CANNOT] Cannot modify ACLs on this mailbox.",
        ),
        (
            "c SETACL INBOX owner -a",
            "c NO [CANNOT] Cannot modify ACLs as requested.",
        ),
        (
            "d DELETEACL INBOX owner",
            "d NO [CANNOT] Cannot modify ACLs on this mailbox.",
        ),
        (
            "e SETACL INBOX group=x r",
            "e NO [CANNOT] Invalid ACL identifier.",
        ),
        (
            "f SETACL INBOX user=bob r",
            "f NO [CANNOT] Invalid ACL identifier.",
        ),
        (
            "g SETACL INBOX \"a b\" r",
            "g NO [CANNOT] Cannot modify ACLs on this mailbox.",
        ),
        (
            "h SETACL INBOX bob \"l r\"",
            "h NO [CANNOT] Cannot modify ACLs on this mailbox.",
        ),
        (
            "i SETACL INBOX administrators -l",
            "i NO [CANNOT] Cannot modify ACLs on this mailbox.",
        ),
        (
            "j SETACL INBOX.nope bob l",
            "j NO [NONEXISTENT] Mailbox does not exist, or must be subscribed to.",
        ),
    ];
    for (command, answer) in cases {
        let out = run(&mut s, &format!("{command}\r\n"));
        assert_eq!(out, format!("{answer}\r\n"), "{command}");
    }
    assert_eq!(stored(&st, "INBOX"), before);
    assert!(!st.folder_exists("INBOX.nope").unwrap());
    // Malformed commands are the client's error.
    for bad in [
        "k SETACL INBOX bob",
        "l DELETEACL INBOX",
        "m GETACL",
        "n LISTRIGHTS INBOX",
    ] {
        let out = run(&mut s, &format!("{bad}\r\n"));
        assert!(
            out.starts_with(&format!("{} BAD", &bad[..1])),
            "{bad}: {out}"
        );
    }
    assert_eq!(stored(&st, "INBOX"), before);
}

#[test]
fn acl_commands_need_their_rights() {
    let st = shared_with_bob("lr");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "a MYRIGHTS INBOX\r\nb GETACL INBOX\r\nc SETACL INBOX bob lrw\r\n",
    );
    assert!(out.contains("* MYRIGHTS \"INBOX\" lr\r\na OK"), "{out}");
    assert!(
        out.contains("b NO [NOPERM] Access denied for GETACL on INBOX (ACL \"a\" required)"),
        "{out}"
    );
    assert!(out.contains("c NO [NOPERM]"), "{out}");
    assert_eq!(
        st.acl("INBOX")
            .unwrap()
            .get("user=bob")
            .unwrap()
            .to_string(),
        "lr"
    );
    // With rights that do not show the folder, not even MYRIGHTS: to
    // bob it is not there (RFC 4314 §6).
    set(&st, "INBOX", "user=bob", "sw");
    let out = run(
        &mut bob,
        "d MYRIGHTS INBOX\r\ne LISTRIGHTS INBOX bob\r\nx GETACL INBOX\r\n\
         y SETACL INBOX group=x r\r\nz MYRIGHTS INBOX.nope\r\n",
    );
    let none = "NO [NONEXISTENT] Mailbox does not exist, or must be subscribed to.";
    for t in ["d", "e", "x", "y", "z"] {
        assert_eq!(tagged(&out, t), format!("{t} {none}"), "{out}");
    }
    // `a` is enough to administer.
    set(&st, "INBOX", "user=bob", "a");
    let out = run(&mut bob, "f SETACL INBOX bob +lr\r\ng GETACL INBOX\r\n");
    assert!(out.contains("f OK ACLs updated."), "{out}");
    assert!(out.contains(" bob alr\r\ng OK"), "{out}");
}

#[test]
fn myrights_and_listrights() {
    let st = MemoryStore::new();
    let mut s = owner(&st);
    let out = run(
        &mut s,
        "a MYRIGHTS INBOX\r\nb LISTRIGHTS INBOX u\r\nc LISTRIGHTS INBOX bob\r\n\
         d LISTRIGHTS INBOX -anyone\r\ne LISTRIGHTS INBOX -u\r\nf LISTRIGHTS INBOX -bob\r\n",
    );
    let want = [
        "* MYRIGHTS \"INBOX\" acdilrsw",
        "* LISTRIGHTS \"INBOX\" u al c d i p r s w",
        "* LISTRIGHTS \"INBOX\" bob \"\" a c d i l p r s w",
        "* LISTRIGHTS \"INBOX\" -anyone \"\" c d i p r s w",
        "* LISTRIGHTS \"INBOX\" -u \"\" c d i p r s w",
        "* LISTRIGHTS \"INBOX\" -bob \"\" a c d i l p r s w",
    ];
    for w in want {
        assert!(out.contains(&format!("{w}\r\n")), "{w}: {out}");
    }
}

#[test]
fn groups_and_negative_entries_from_the_account_options() {
    let st = shared_with_bob("");
    set(&st, "INBOX", "group=staff", "lr");
    set(&st, "INBOX.a", "group=staff", "lr");
    set(&st, "INBOX.a", "-group=interns", "r");
    let mut staff = as_user(&st, "bob", "group=staff");
    let out = run(&mut staff, "a LIST \"\" *\r\nb MYRIGHTS INBOX.a\r\n");
    assert!(
        out.contains("\"INBOX.a\"") && !out.contains("\"INBOX.b\""),
        "{out}"
    );
    assert!(out.contains("* MYRIGHTS \"INBOX.a\" lr\r\n"), "{out}");
    let mut intern = as_user(&st, "ann", "group=staff,group=interns");
    let out = run(&mut intern, "c MYRIGHTS INBOX.a\r\nd SELECT INBOX.a\r\n");
    assert!(out.contains("* MYRIGHTS \"INBOX.a\" l\r\n"), "{out}");
    assert!(tagged(&out, "d").starts_with("d NO [NOPERM]"), "{out}");
    let mut admin = as_user(&st, "root", "group=administrators");
    let out = run(&mut admin, "e GETACL INBOX.b\r\n");
    assert!(out.contains("e OK"), "{out}");
}

#[test]
fn disableshared_turns_acls_off() {
    let st = MemoryStore::new();
    let mut s = as_user(&st, "u", "disableshared=1");
    let out = run(
        &mut s,
        "a MYRIGHTS INBOX\r\nb SETACL INBOX bob l\r\nc GETACL INBOX\r\n",
    );
    assert!(out.contains("* MYRIGHTS \"INBOX\" cdilrsw\r\n"), "{out}");
    // The owner has no `a`: nobody can change the ACLs.
    assert!(out.contains("b NO [NOPERM]"), "{out}");
    assert!(out.contains("c NO [NOPERM]"), "{out}");
}

#[test]
fn list_and_lsub_show_only_folders_with_l() {
    let st = shared_with_bob("lr");
    set(&st, "INBOX.b", "user=bob", "r");
    let mut u = owner(&st);
    run(&mut u, "a SUBSCRIBE INBOX.a\r\nb SUBSCRIBE INBOX.b\r\n");
    let mut bob = as_user(&st, "bob", "");
    let out = run(&mut bob, "c LIST \"\" *\r\nd LSUB \"\" *\r\n");
    assert!(
        out.contains("\"INBOX.a\"") && !out.contains("\"INBOX.b\""),
        "{out}"
    );
    assert!(out.contains("* LSUB () \".\" \"INBOX.a\""), "{out}");
}

#[test]
fn select_status_need_r_and_read_only_without_write_rights() {
    let st = shared_with_bob("l");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "a SELECT INBOX.a\r\nb STATUS INBOX.a (MESSAGES)\r\n",
    );
    assert!(
        out.contains(
            "a NO [NOPERM] Access denied for SELECT/EXAMINE on INBOX.a (ACL \"r\" required)"
        ),
        "{out}"
    );
    assert!(
        out.contains("b NO [NOPERM] Access denied for STATUS on INBOX.a"),
        "{out}"
    );
    set(&st, "INBOX.a", "user=bob", "lr");
    let out = run(&mut bob, "c SELECT INBOX.a\r\n");
    assert!(out.contains("* OK [MYRIGHTS \"lr\"] ACL\r\n"), "{out}");
    assert!(out.contains("c OK [READ-ONLY]"), "{out}");
    set(&st, "INBOX.a", "user=bob", "lrs");
    let out = run(&mut bob, "d SELECT INBOX.a\r\n");
    assert!(out.contains("[PERMANENTFLAGS (\\Seen)]"), "{out}");
    assert!(out.contains("d OK [READ-WRITE]"), "{out}");
}

#[test]
fn fetch_sets_seen_only_with_s() {
    let st = shared_with_bob("lrw");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "a SELECT INBOX\r\nb FETCH 1 (BODY[])\r\nc FETCH 1 (FLAGS)\r\n",
    );
    assert!(out.contains("a OK [READ-WRITE]"), "{out}");
    assert!(
        out.contains("* 1 FETCH (FLAGS (\\Flagged))\r\nc OK"),
        "{out}"
    );
    set(&st, "INBOX", "user=bob", "lrs");
    let mut bob = as_user(&st, "bob", "");
    let out = run(&mut bob, "d SELECT INBOX\r\ne FETCH 1 (BODY[])\r\n");
    assert!(out.contains("FLAGS (\\Flagged \\Seen)"), "{out}");
}

#[test]
fn store_changes_only_the_flags_the_rights_allow() {
    let st = shared_with_bob("lrs");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "a SELECT INBOX\r\nb STORE 1 +FLAGS (\\Seen \\Deleted \\Answered kw)\r\n\
         c STORE 2 FLAGS (\\Seen)\r\n",
    );
    assert!(tagged(&out, "b").starts_with("b OK"), "{out}");
    assert!(
        out.contains("* 1 FETCH (FLAGS (\\Flagged \\Seen))"),
        "{out}"
    );
    // FLAGS replaces only what may be changed: \Flagged stays.
    assert!(
        out.contains("* 2 FETCH (FLAGS (\\Flagged \\Seen))"),
        "{out}"
    );
    set(&st, "INBOX", "user=bob", "lrtw");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "d SELECT INBOX\r\ne STORE 1:2 FLAGS (\\Deleted kw)\r\n",
    );
    // \Seen may not be changed: each message keeps its own.
    assert!(
        out.contains("* 1 FETCH (FLAGS (\\Deleted \\Seen kw))"),
        "{out}"
    );
    assert!(
        out.contains("* 2 FETCH (FLAGS (\\Deleted \\Seen kw))"),
        "{out}"
    );
    set(&st, "INBOX", "user=bob", "lrt");
    let mut bob = as_user(&st, "bob", "");
    let out = run(&mut bob, "f SELECT INBOX\r\ng STORE 1 FLAGS ()\r\n");
    assert!(out.contains("* 1 FETCH (FLAGS (\\Seen kw))"), "{out}");
}

#[test]
fn append_needs_i_and_drops_flags_it_may_not_set() {
    let st = shared_with_bob("lr");
    let mut bob = as_user(&st, "bob", "");
    let out = run(&mut bob, "a APPEND INBOX.a (\\Seen) {5+}\r\nhello\r\n");
    assert!(
        out.contains("a NO [NOPERM] Access denied for APPEND on INBOX.a (ACL \"i\" required)"),
        "{out}"
    );
    set(&st, "INBOX.a", "user=bob", "lrsi");
    let out = run(
        &mut bob,
        "b APPEND INBOX.a (\\Seen \\Flagged kw) {5+}\r\nhello\r\n",
    );
    assert!(out.contains("b OK [APPENDUID"), "{out}");
    let out = run(&mut bob, "c SELECT INBOX.a\r\nd FETCH 2 (FLAGS)\r\n");
    assert!(out.contains("* 2 FETCH (FLAGS (\\Seen \\Recent))"), "{out}");
}

#[test]
fn copy_and_move_check_both_folders() {
    let st = shared_with_bob("lrs");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "a SELECT INBOX\r\nb COPY 1 INBOX.a\r\nc MOVE 1 INBOX.a\r\n",
    );
    assert!(
        out.contains("b NO [NOPERM] Access denied for COPY on INBOX.a (ACL \"i\" required)"),
        "{out}"
    );
    // The destination is checked first.
    assert!(
        out.contains("c NO [NOPERM] Access denied for MOVE on INBOX.a (ACL \"i\" required)"),
        "{out}"
    );
    set(&st, "INBOX.a", "user=bob", "lrsi");
    let out = run(
        &mut bob,
        "d STORE 1 +FLAGS (\\Seen)\r\ne COPY 1 INBOX.nope\r\nf COPY 1 INBOX.a\r\n",
    );
    assert!(out.contains("e NO [TRYCREATE]"), "{out}");
    assert!(out.contains("f OK [COPYUID"), "{out}");
    let out = run(&mut bob, "g SELECT INBOX.a\r\nh FETCH 2 (FLAGS)\r\n");
    // \Flagged needs `w` in INBOX.a: only \Seen came along.
    assert!(out.contains("* 2 FETCH (FLAGS (\\Seen \\Recent))"), "{out}");
    set(&st, "INBOX", "user=bob", "lrste");
    let mut bob = as_user(&st, "bob", "");
    let out = run(&mut bob, "i SELECT INBOX\r\nj MOVE 1 INBOX.a\r\n");
    assert!(out.contains("j OK"), "{out}");
}

#[test]
fn create_delete_rename_check_the_folders_and_parents() {
    let st = shared_with_bob("lr");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "a CREATE INBOX.a.x\r\nb DELETE INBOX.a\r\nc RENAME INBOX.a INBOX.z\r\n",
    );
    assert!(
        out.contains("a NO [NOPERM] Access denied for CREATE on INBOX.a (ACL \"c\" required)"),
        "{out}"
    );
    assert!(
        out.contains("b NO [NOPERM] Access denied for DELETE on INBOX.a (ACL \"x\" required)"),
        "{out}"
    );
    assert!(
        out.contains("c NO [NOPERM] Access denied for RENAME on INBOX.a (ACL \"x\" required)"),
        "{out}"
    );
    set(&st, "INBOX.a", "user=bob", "lrcx");
    let out = run(
        &mut bob,
        "d CREATE INBOX.a.x\r\ne RENAME INBOX.a.x INBOX.b.x\r\n",
    );
    assert!(out.contains("d OK"), "{out}");
    assert!(
        out.contains("e NO [NOPERM] Access denied for RENAME on INBOX.b (ACL \"c\" required)"),
        "{out}"
    );
    // The new folder has the ACL it inherited.
    assert_eq!(st.acl("INBOX.a.x").unwrap(), st.acl("INBOX.a").unwrap());
    let out = run(
        &mut bob,
        "f RENAME INBOX.a.x INBOX.a.y\r\ng DELETE INBOX.a.y\r\n",
    );
    assert!(out.contains("f OK") && out.contains("g OK"), "{out}");
    assert!(!st.folder_exists("INBOX.a.y").unwrap());
}

#[test]
fn expunge_needs_e_and_close_only_expunges_with_it() {
    let st = shared_with_bob("lrst");
    let mut bob = as_user(&st, "bob", "");
    let out = run(
        &mut bob,
        "a SELECT INBOX\r\nb STORE 1 +FLAGS (\\Deleted)\r\nc EXPUNGE\r\nd UID EXPUNGE 1\r\ne CLOSE\r\n",
    );
    assert!(
        out.contains(
            "c NO [NOPERM] Access denied for EXPUNGE on current mailbox (ACL \"e\" required)"
        ),
        "{out}"
    );
    assert!(out.contains("d NO [NOPERM]"), "{out}");
    assert!(out.contains("e OK"), "{out}");
    assert_eq!(st.status("INBOX").unwrap().messages, 2);
    set(&st, "INBOX", "user=bob", "lrste");
    let mut bob = as_user(&st, "bob", "");
    run(&mut bob, "f SELECT INBOX\r\ng CLOSE\r\n");
    assert_eq!(st.status("INBOX").unwrap().messages, 1);
}

#[test]
fn on_a_maildir_the_acl_files_are_courier_s() {
    use super::tests::{session, store};
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    let root = st.root().to_path_buf();
    st.create_folder("INBOX.a").unwrap();
    let mut s = session(st);
    let out = run(&mut s, "a LIST \"\" *\r\nb SETACL INBOX.a bob lr\r\n");
    assert!(out.contains("b OK ACLs updated."), "{out}");
    // LIST stored the inherited copy, SETACL changed it.
    assert_eq!(
        std::fs::read_to_string(root.join(".a/courierimapacl")).unwrap(),
        "owner aceilrstwx\nadministrators aceilrstwx\nuser=bob lr\n"
    );
    assert!(
        !root.join("courierimapacl").exists(),
        "INBOX keeps its default"
    );
    // The ACL of a name below the folder that is not a folder moves with
    // a RENAME, as Courier's maildir_rename moves it.
    let hier = root.join("courierimaphieracl");
    std::fs::create_dir(&hier).unwrap();
    std::fs::write(hier.join("a.x"), "owner aceilrstwx\nanyone l\n").unwrap();
    let out = run(&mut s, "c RENAME INBOX.a INBOX.b\r\n");
    assert!(out.contains("c OK"), "{out}");
    assert!(hier.join("b.x").exists() && !hier.join("a.x").exists());
    assert!(root.join(".b/courierimapacl").exists());
}

#[test]
fn the_selected_folder_takes_changed_rights_at_the_next_command() {
    let st = shared_with_bob("lrs");
    let mut bob = as_user(&st, "bob", "");
    run(&mut bob, "a SELECT INBOX\r\n");
    set(&st, "INBOX", "user=bob", "lrsw");
    // Announced before the command uses them, with the flags now
    // permitted.
    let out = run(&mut bob, "b STORE 1 +FLAGS (\\Answered)\r\n");
    assert!(
        out.starts_with("* OK [MYRIGHTS \"lrsw\"] ACL\r\n* FLAGS "),
        "{out}"
    );
    assert!(
        out.contains("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Seen \\Draft \\*)]"),
        "{out}"
    );
    assert!(
        out.contains("* 1 FETCH (FLAGS (\\Answered \\Flagged))"),
        "{out}"
    );
    // Reading them unchanged says nothing.
    let out = run(&mut bob, "c MYRIGHTS INBOX\r\ne LIST \"\" *\r\n");
    assert!(!out.contains("[MYRIGHTS"), "{out}");
    // Nor does reading another folder's.
    set(&st, "INBOX.a", "user=bob", "lrswi");
    let out = run(&mut bob, "f MYRIGHTS INBOX.a\r\n");
    assert!(!out.contains("[MYRIGHTS"), "{out}");
    // Without `r` the folder's messages are no longer served, and IDLE
    // and NOOP tell nothing of it; CLOSE still closes.
    let out = run(&mut bob, "k IDLE\r\n");
    assert_eq!(out, "+ idling\r\n");
    set(&st, "INBOX", "user=bob", "ls");
    st.deliver("INBOX", MSG, Flags::EMPTY).unwrap();
    let mut out = Vec::new();
    bob.idle_changed(&mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("* OK [MYRIGHTS \"ls\"] ACL\r\n"), "{out}");
    assert!(!out.contains("EXISTS"), "{out}");
    let out = run(
        &mut bob,
        "DONE\r\ng FETCH 1 (FLAGS)\r\nh NOOP\r\ni SEARCH ALL\r\nj CLOSE\r\n",
    );
    assert_eq!(
        out,
        "k OK IDLE terminated\r\n\
         g NO [NOPERM] Access denied for FETCH on current mailbox (ACL \"r\" required)\r\n\
         h OK NOOP completed\r\n\
         i NO [NOPERM] Access denied for SEARCH on current mailbox (ACL \"r\" required)\r\n\
         j OK CLOSE completed\r\n"
    );
}

#[test]
fn a_minus_change_removes_letters_unchecked() {
    let st = MemoryStore::new();
    let mut s = owner(&st);
    let out = run(
        &mut s,
        "a SETACL INBOX bob lrsw\r\nb SETACL INBOX bob \"-s Z\"\r\nc SETACL INBOX bob -ld\r\n\
         d SETACL INBOX bob \"+r Z\"\r\n",
    );
    assert!(out.contains("b OK") && out.contains("c OK"), "{out}");
    assert!(
        out.contains("d NO [CANNOT] Cannot modify ACLs on this mailbox."),
        "{out}"
    );
    assert_eq!(
        st.acl("INBOX")
            .unwrap()
            .get("user=bob")
            .unwrap()
            .to_string(),
        "rw"
    );
}

/// Every command naming `folder`, as bob sends them with INBOX selected.
fn naming(folder: &str) -> String {
    [
        "SELECT INBOX",
        "STATUS F (MESSAGES)",
        "APPEND F {1+}\r\nx",
        "COPY 1 F",
        "MOVE 1 F",
        "GETQUOTAROOT F",
        "GETACL F",
        "MYRIGHTS F",
        "LISTRIGHTS F bob",
        "SETACL F bob lr",
        "SETACL F group=x lr",
        "DELETEACL F bob",
        "ACL STORE F anyone +l",
        "LIST \"\" F*",
        "SUBSCRIBE F",
        "LSUB \"\" *",
        "CREATE F",
        "CREATE F.sub",
        "DELETE F",
        "RENAME F INBOX.b.x",
        "RENAME INBOX.b F.x",
        "EXAMINE F",
    ]
    .iter()
    .enumerate()
    .map(|(n, c)| format!("t{n} {}\r\n", c.replace('F', folder)))
    .collect()
}

#[test]
fn a_folder_bob_may_not_see_answers_as_one_that_is_not_there() {
    // bob may read INBOX and change INBOX.b; INBOX.a has an ACL without
    // `l` for him, and so has INBOX.nope, which is not a folder (as a
    // `courierimaphieracl/` entry): a name that is not there with the
    // same ACL.
    for hidden in ["", "stw", "p"] {
        let st = shared_with_bob("lr");
        set(&st, "INBOX.b", "user=bob", "lrx");
        for f in ["INBOX.a", "INBOX.nope"] {
            set(&st, f, "user=bob", hidden);
        }
        let seen = run(&mut as_user(&st, "bob", ""), &naming("INBOX.a"));
        let missing = run(&mut as_user(&st, "bob", ""), &naming("INBOX.nope"));
        assert_eq!(seen.replace("INBOX.a", "INBOX.nope"), missing, "{hidden}");
        // (and the answers are the refusals, not successes)
        assert!(
            !seen.contains("t16 OK") && !seen.contains("t18 OK"),
            "{seen}"
        );
        assert_eq!(st.status("INBOX.a").unwrap().messages, 1);
    }
    // A right granted without `l` is honoured; what it does not allow is
    // still not there.
    let st = shared_with_bob("lr");
    set(&st, "INBOX.a", "user=bob", "i");
    let out = run(
        &mut as_user(&st, "bob", ""),
        "a APPEND INBOX.a {1+}\r\nx\r\nb STATUS INBOX.a (MESSAGES)\r\n",
    );
    assert!(out.starts_with("a OK [APPENDUID "), "{out}");
    assert!(
        out.ends_with("b NO [NONEXISTENT] No such mailbox\r\n"),
        "{out}"
    );
}
