//! Why something failed, as Courier's SMAP server words it: its `-ERR`
//! lines end in the C library's text for the `errno` its code set
//! (`No such file or directory`, `No space left on device`), and clients
//! may show or match that text.

use courser_imap::mailstore::StoreError;

/// The text Courier's reply would end in for `e`.
pub fn reason(e: &StoreError) -> String {
    match e {
        StoreError::NonExistent(_) | StoreError::NotFound(_) => "No such file or directory".into(),
        StoreError::AlreadyExists(_) => "File exists".into(),
        StoreError::InvalidName { .. } | StoreError::InvalidKeyword(_) => "Invalid argument".into(),
        StoreError::OverQuota => "No space left on device".into(),
        StoreError::NotPermitted(_) | StoreError::ReadOnly => "Permission denied".into(),
        StoreError::Io { source, .. } => io_text(source),
        other => other.to_string(),
    }
}

/// An I/O error's text without Rust's ` (os error N)` suffix, as
/// `strerror` gives it.
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_strerror() {
        assert_eq!(reason(&StoreError::OverQuota), "No space left on device");
        let gone = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            reason(&StoreError::io("/x", gone)),
            "No such file or directory"
        );
        assert_eq!(
            reason(&StoreError::NonExistent("INBOX.x".into())),
            "No such file or directory"
        );
    }
}
