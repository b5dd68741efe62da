//! PAM for Courser, through Linux-PAM's `libpam.so.0` opened at run time
//! (`dlopen`), not linked: building Courser needs no PAM headers
//! (`libpam0g-dev`), and a machine without libpam runs every other
//! backend, with a clear error from [`library`] when PAM is configured.
//!
//! This crate is the project's one audited `unsafe` module for PAM: the
//! C declarations (Linux-PAM's `<security/pam_appl.h>`), the
//! conversation callback and the handle's life are here, behind two safe
//! functions, [`authenticate`] and [`change_password`]. Their caller runs
//! one transaction at a time per process (PAM modules keep global state).
//!
//! Only Linux-PAM's layout is supported: its conversation receives an
//! array of pointers to messages (Solaris and OpenPAM read the same
//! argument as a pointer to an array).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

use libloading::Library;

/// The shared object opened, by its soname (present on every Debian
/// system through `libpam0g`, which `login` depends on).
pub const LIBRARY: &str = "libpam.so.0";

/// Linux-PAM's return codes used here (`<security/_pam_types.h>`).
mod code {
    pub const SUCCESS: i32 = 0;
    pub const BUF_ERR: i32 = 5;
    pub const NEW_AUTHTOK_REQD: i32 = 12;
    pub const CONV_ERR: i32 = 19;
}

/// `PAM_SILENT`: modules print nothing (there is no terminal).
const SILENT: c_int = 0x8000;
/// `PAM_DISALLOW_NULL_AUTHTOK`: an empty password never succeeds.
const DISALLOW_NULL_AUTHTOK: c_int = 0x0001;
/// Message styles of the conversation.
const PROMPT_ECHO_OFF: c_int = 1;
const PROMPT_ECHO_ON: c_int = 2;
const ERROR_MSG: c_int = 3;
const TEXT_INFO: c_int = 4;
/// Linux-PAM never sends more messages at once (`PAM_MAX_NUM_MSG`).
const MAX_NUM_MSG: c_int = 32;

/// A PAM return code other than success, with libpam's own text for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text} (PAM code {code})")]
pub struct Failure {
    /// The numeric `PAM_*` code.
    pub code: i32,
    /// `pam_strerror`'s text.
    pub text: String,
}

impl Failure {
    /// Whether the code says the account or its password was refused
    /// (wrong password, unknown, locked, expired, too many tries), as
    /// opposed to PAM itself failing (no service file, a module that
    /// cannot reach its directory, `PAM_TRY_AGAIN`, …).
    pub fn is_rejection(&self) -> bool {
        // PERM_DENIED 6, AUTH_ERR 7, CRED_INSUFFICIENT 8, USER_UNKNOWN 10,
        // MAXTRIES 11, NEW_AUTHTOK_REQD 12, ACCT_EXPIRED 13, AUTHTOK_EXPIRED 27.
        matches!(self.code, 6 | 7 | 8 | 10 | 11 | 12 | 13 | 27)
    }

    /// Whether the code says a new password was refused
    /// (`PAM_AUTHTOK_ERR` 20: too weak, reused, mistyped), or the old one
    /// (`PAM_AUTHTOK_RECOVERY_ERR` 21).
    pub fn is_password_refusal(&self) -> bool {
        matches!(self.code, 20 | 21)
    }
}

/// Why a check could not run or did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PamError {
    /// `libpam.so.0` could not be opened or lacks a function.
    #[error("{0}")]
    Library(String),
    /// A name or password holds a NUL byte, which PAM cannot carry.
    #[error("a NUL byte in the {0}")]
    Nul(&'static str),
    /// PAM answered with a failure code.
    #[error(transparent)]
    Pam(#[from] Failure),
}

#[repr(C)]
struct Message {
    style: c_int,
    text: *const c_char,
}

#[repr(C)]
struct Response {
    text: *mut c_char,
    retcode: c_int,
}

type ConvFn =
    unsafe extern "C" fn(c_int, *mut *const Message, *mut *mut Response, *mut c_void) -> c_int;

#[repr(C)]
struct Conv {
    conv: ConvFn,
    appdata: *mut c_void,
}

/// Opaque `pam_handle_t`.
#[repr(C)]
struct Handle {
    _private: [u8; 0],
}

/// The functions used, resolved once from the library.
struct Api {
    start:
        unsafe extern "C" fn(*const c_char, *const c_char, *const Conv, *mut *mut Handle) -> c_int,
    end: unsafe extern "C" fn(*mut Handle, c_int) -> c_int,
    authenticate: unsafe extern "C" fn(*mut Handle, c_int) -> c_int,
    acct_mgmt: unsafe extern "C" fn(*mut Handle, c_int) -> c_int,
    chauthtok: unsafe extern "C" fn(*mut Handle, c_int) -> c_int,
    strerror: unsafe extern "C" fn(*mut Handle, c_int) -> *const c_char,
    // The function pointers above stay valid while this is loaded, and
    // it is never unloaded (it lives in a static).
    _library: Library,
}

impl Api {
    fn open(name: &str) -> Result<Api, String> {
        // libloading's message is generic ("dlopen failed"); dlerror's
        // text, which says why, is its source.
        let cannot = |e: libloading::Error| match std::error::Error::source(&e) {
            Some(why) => format!("PAM: cannot load {name}: {why}"),
            None => format!("PAM: cannot load {name}: {e}"),
        };
        // SAFETY: opening libpam runs its initialisers, which only set up
        // its own state; the signatures below are Linux-PAM's
        // (<security/pam_appl.h>), and copying the function pointers out
        // is sound because the library is kept in `_library` for ever.
        unsafe {
            let library = Library::new(name).map_err(cannot)?;
            Ok(Api {
                start: *library.get(b"pam_start\0").map_err(cannot)?,
                end: *library.get(b"pam_end\0").map_err(cannot)?,
                authenticate: *library.get(b"pam_authenticate\0").map_err(cannot)?,
                acct_mgmt: *library.get(b"pam_acct_mgmt\0").map_err(cannot)?,
                chauthtok: *library.get(b"pam_chauthtok\0").map_err(cannot)?,
                strerror: *library.get(b"pam_strerror\0").map_err(cannot)?,
                _library: library,
            })
        }
    }
}

/// Opens `libpam.so.0` once per process; later calls return the same
/// outcome. The error names the library and says why (for the start-up
/// check of a configured PAM backend).
pub fn library() -> Result<(), String> {
    api().map(|_| ())
}

fn api() -> Result<&'static Api, String> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(|| Api::open(LIBRARY))
        .as_ref()
        .map_err(Clone::clone)
}

/// What the conversation answers: the login to a visible prompt, the
/// password to a hidden one. While a password is changed
/// (`changing` set), a hidden prompt for the current or old password gets
/// `password` and any other (`New password:`, `Retype new password:`)
/// gets `new`: pam_unix asks for the current one only when not run as
/// root. libpam's prompts are English here, as Courser never calls
/// `setlocale`. Error messages the modules send (pam_pwquality's reasons)
/// are kept for the failure's text.
struct Answers {
    login: CString,
    password: CString,
    new: Option<CString>,
    changing: std::cell::Cell<bool>,
    errors: RefCell<Vec<String>>,
}

impl Answers {
    /// The answer to a hidden prompt.
    fn hidden(&self, prompt: &str) -> &CString {
        let prompt = prompt.to_ascii_lowercase();
        match &self.new {
            Some(new)
                if self.changing.get()
                    && !prompt.contains("current")
                    && !prompt.contains("old") =>
            {
                new
            }
            _ => &self.password,
        }
    }
}

/// Copies `text` into memory from `malloc`, which PAM frees.
fn malloc_copy(text: &CStr) -> *mut c_char {
    let bytes = text.to_bytes_with_nul();
    // SAFETY: a fresh allocation of `bytes.len()` bytes, filled from a
    // slice of that length, never overlapping.
    unsafe {
        let out = libc::malloc(bytes.len()).cast::<c_char>();
        if !out.is_null() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), out, bytes.len());
        }
        out
    }
}

/// Frees the first `filled` replies (their passwords wiped) and the array.
///
/// SAFETY: `replies` comes from `calloc` with at least `filled` entries
/// whose texts are null or from `malloc`.
unsafe fn free_replies(replies: *mut Response, filled: usize) {
    for i in 0..filled {
        let text = (*replies.add(i)).text;
        if !text.is_null() {
            libc::explicit_bzero(text.cast(), libc::strlen(text));
            libc::free(text.cast());
        }
    }
    libc::free(replies.cast());
}

/// The conversation function PAM calls with its prompts.
///
/// SAFETY (PAM's contract): `appdata` is the `Answers` given to
/// `pam_start`, alive for the whole transaction; `messages` holds
/// `count` pointers to valid messages; the replies array and its texts
/// are handed over to PAM, which frees them with `free`.
unsafe extern "C" fn converse(
    count: c_int,
    messages: *mut *const Message,
    replies_out: *mut *mut Response,
    appdata: *mut c_void,
) -> c_int {
    if !(1..=MAX_NUM_MSG).contains(&count) || messages.is_null() || replies_out.is_null() {
        return code::CONV_ERR;
    }
    let answers = &*appdata.cast::<Answers>();
    let count = count as usize;
    let replies = libc::calloc(count, std::mem::size_of::<Response>()).cast::<Response>();
    if replies.is_null() {
        return code::BUF_ERR;
    }
    for i in 0..count {
        let message = *messages.add(i);
        if message.is_null() {
            free_replies(replies, i);
            return code::CONV_ERR;
        }
        let text = if (*message).text.is_null() {
            std::borrow::Cow::Borrowed("")
        } else {
            CStr::from_ptr((*message).text).to_string_lossy()
        };
        let answer = match (*message).style {
            PROMPT_ECHO_OFF => answers.hidden(&text),
            PROMPT_ECHO_ON => &answers.login,
            ERROR_MSG => {
                tracing::debug!("PAM: {text}");
                answers.errors.borrow_mut().push(text.into_owned());
                continue;
            }
            TEXT_INFO => {
                tracing::debug!("PAM: {text}");
                continue;
            }
            _ => {
                free_replies(replies, i);
                return code::CONV_ERR;
            }
        };
        let text = malloc_copy(answer);
        if text.is_null() {
            free_replies(replies, i);
            return code::BUF_ERR;
        }
        (*replies.add(i)).text = text;
    }
    *replies_out = replies;
    code::SUCCESS
}

/// One PAM transaction: `pam_authenticate` then `pam_acct_mgmt` for
/// `login` with `password`, under PAM service `service`
/// (`/etc/pam.d/<service>`), silently and refusing empty passwords.
/// Blocking (modules may sleep after a wrong password); not to be run
/// concurrently with another transaction in the same process.
pub fn authenticate(service: &str, login: &str, password: &[u8]) -> Result<(), PamError> {
    transaction(service, login, password, None)
}

/// One PAM transaction that changes `login`'s password from `old` to
/// `new`: `old` is checked as by [`authenticate`] (an expired password
/// may still be changed), then `pam_chauthtok` stores `new` through the
/// service's `password` modules. A refusal carries the modules' own
/// reasons (pam_pwquality's "BAD PASSWORD: …") in its text. The same
/// rules as [`authenticate`] for blocking and concurrency.
pub fn change_password(service: &str, login: &str, old: &[u8], new: &[u8]) -> Result<(), PamError> {
    let new = CString::new(new).map_err(|_| PamError::Nul("new password"))?;
    transaction(service, login, old, Some(new))
}

fn transaction(
    service: &str,
    login: &str,
    password: &[u8],
    new: Option<CString>,
) -> Result<(), PamError> {
    let api = api().map_err(PamError::Library)?;
    let service = CString::new(service).map_err(|_| PamError::Nul("PAM service name"))?;
    let answers = Answers {
        login: CString::new(login).map_err(|_| PamError::Nul("login"))?,
        password: CString::new(password).map_err(|_| PamError::Nul("password"))?,
        new,
        changing: std::cell::Cell::new(false),
        errors: RefCell::new(Vec::new()),
    };
    let conv = Conv {
        conv: converse,
        // Only read through (converse takes a shared reference).
        appdata: (&answers as *const Answers).cast_mut().cast(),
    };
    let mut handle: *mut Handle = std::ptr::null_mut();
    // SAFETY: every pointer passed outlives the transaction, which ends
    // (pam_end) before this function returns; `handle` is used only
    // after pam_start set it, and libpam's strings are copied at once.
    let status = unsafe {
        let started = (api.start)(service.as_ptr(), answers.login.as_ptr(), &conv, &mut handle);
        if started != code::SUCCESS || handle.is_null() {
            return Err(failure(api, handle, started, &[]).into());
        }
        let mut status = (api.authenticate)(handle, SILENT | DISALLOW_NULL_AUTHTOK);
        if status == code::SUCCESS {
            status = (api.acct_mgmt)(handle, SILENT);
            if answers.new.is_some() && status == code::NEW_AUTHTOK_REQD {
                status = code::SUCCESS;
            }
        }
        if status == code::SUCCESS && answers.new.is_some() {
            answers.changing.set(true);
            status = (api.chauthtok)(handle, SILENT);
        }
        let result = if status == code::SUCCESS {
            Ok(())
        } else {
            Err(failure(api, handle, status, &answers.errors.borrow()))
        };
        (api.end)(handle, status);
        result
    };
    status.map_err(PamError::from)
}

/// The failure for `status`, with its text and the modules' `errors`.
///
/// SAFETY: `handle` is null or a live handle; pam_strerror returns a
/// static string (null-tolerant for `handle` in Linux-PAM).
unsafe fn failure(api: &Api, handle: *mut Handle, status: c_int, errors: &[String]) -> Failure {
    let text = (api.strerror)(handle, status);
    let mut text = if text.is_null() {
        String::from("unknown PAM error")
    } else {
        CStr::from_ptr(text).to_string_lossy().into_owned()
    };
    for error in errors {
        text.push_str(": ");
        text.push_str(error);
    }
    Failure { code: status, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_opens_on_this_machine() {
        // libpam0g is on every Debian system (login depends on it).
        assert_eq!(library(), Ok(()));
    }

    #[test]
    fn a_missing_library_is_named_in_the_error() {
        let Err(e) = Api::open("libpam-courser-absent.so.0") else {
            panic!("opened a library that does not exist");
        };
        assert!(
            e.starts_with("PAM: cannot load libpam-courser-absent.so.0: "),
            "{e}"
        );
    }

    #[test]
    fn a_missing_service_file_is_a_failure_of_pam_not_a_rejection() {
        let err = authenticate("courser-no-such-service-xyz", "nobody", b"secret")
            .expect_err("no such service");
        match err {
            // Linux-PAM falls back to /etc/pam.d/other, which denies.
            PamError::Pam(f) => assert!(f.code != code::SUCCESS && !f.text.is_empty(), "{f:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nul_bytes_are_refused_before_pam_is_called() {
        assert_eq!(
            authenticate("imap", "a\0b", b"x"),
            Err(PamError::Nul("login"))
        );
        assert_eq!(
            authenticate("imap", "a", b"x\0y"),
            Err(PamError::Nul("password"))
        );
        assert_eq!(
            change_password("imap", "a", b"x", b"y\0"),
            Err(PamError::Nul("new password"))
        );
    }

    #[test]
    fn hidden_prompts_get_the_old_password_until_the_change_then_the_new_one() {
        let answers = Answers {
            login: CString::new("a").unwrap(),
            password: CString::new("old").unwrap(),
            new: Some(CString::new("new").unwrap()),
            changing: std::cell::Cell::new(false),
            errors: RefCell::new(Vec::new()),
        };
        assert_eq!(answers.hidden("Password: ").as_bytes(), b"old");
        answers.changing.set(true);
        assert_eq!(answers.hidden("Current password: ").as_bytes(), b"old");
        assert_eq!(
            answers.hidden("(current) UNIX password: ").as_bytes(),
            b"old"
        );
        assert_eq!(answers.hidden("New password: ").as_bytes(), b"new");
        assert_eq!(answers.hidden("Retype new password: ").as_bytes(), b"new");
    }

    #[test]
    fn rejections_are_the_account_codes() {
        let f = |code| Failure {
            code,
            text: String::new(),
        };
        assert!(f(7).is_rejection());
        assert!(f(10).is_rejection());
        assert!(!f(9).is_rejection()); // AUTHINFO_UNAVAIL
        assert!(!f(24).is_rejection()); // TRY_AGAIN
    }
}
