//! What the front end tells a worker about the session it takes over: the
//! first bytes on the session socket are one length-prefixed TOML record;
//! everything after it is the client's protocol stream.
//!
//! The record carries only what a session needs (protocol settings, the
//! account's login, the connection's facts). It never carries
//! passwords or backend settings: the worker runs as the account, whose
//! owner may inspect it.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::{ImapConfig, LogConfig, MaildirConfig, Pop3Config};
use crate::service::Service;

/// Largest record accepted.
const MAX_RECORD: usize = 64 * 1024;
/// How long a worker waits for its record.
pub const RECORD_TIMEOUT: Duration = Duration::from_secs(10);

/// A logged-in session moving to a worker process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// The protocol.
    pub service: Service,
    /// The account's login (the worker checks it is the account it was
    /// started for; its maildir comes from the spawner, never from here).
    pub login: String,
    /// IMAP: the tag of the LOGIN or AUTHENTICATE command to answer.
    pub tag: Option<String>,
    /// The client's address (after PROXY protocol).
    pub peer: SocketAddr,
    /// The connection is protected by TLS.
    pub tls: bool,
    /// TLS was started in-band (STARTTLS, STLS).
    pub stls: bool,
    /// Bytes received and sent before the hand-over (for the LOGOUT line).
    pub bytes_in: u64,
    /// See `bytes_in`.
    pub bytes_out: u64,
    /// Milliseconds since the client connected.
    pub connected_ms: u64,
    /// Host name for greetings and file names.
    pub hostname: String,
    /// `[imap]` settings.
    pub imap: ImapConfig,
    /// `[pop3]` settings.
    pub pop3: Pop3Config,
    /// `[maildir]` settings.
    pub maildir_settings: MaildirConfig,
    /// `[log]` settings: the worker logs the session's LOGIN and LOGOUT
    /// lines.
    #[serde(default)]
    pub log: LogConfig,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    /// The socket failed or closed early.
    #[error("reading the hand-over: {0}")]
    Io(#[from] std::io::Error),
    /// The record is too large or not valid.
    #[error("invalid hand-over record: {0}")]
    Invalid(String),
}

impl Handoff {
    /// Writes the record to the worker's socket.
    pub async fn write_to<W: AsyncWrite + Unpin>(&self, socket: &mut W) -> std::io::Result<()> {
        let text = toml::to_string(self).map_err(std::io::Error::other)?;
        let len = u32::try_from(text.len()).map_err(std::io::Error::other)?;
        socket.write_all(&len.to_be_bytes()).await?;
        socket.write_all(text.as_bytes()).await?;
        socket.flush().await
    }

    /// Reads the record; the stream is then positioned at the client's
    /// protocol bytes.
    pub async fn read_from<R: AsyncRead + Unpin>(socket: &mut R) -> Result<Handoff, HandoffError> {
        let mut len = [0u8; 4];
        socket.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_RECORD {
            return Err(HandoffError::Invalid(format!("{len} bytes")));
        }
        let mut text = vec![0u8; len];
        socket.read_exact(&mut text).await?;
        let text = String::from_utf8(text).map_err(|e| HandoffError::Invalid(e.to_string()))?;
        toml::from_str(&text).map_err(|e| HandoffError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Handoff {
        Handoff {
            service: Service::Imap,
            login: "ann".into(),
            tag: Some("a1".into()),
            peer: "[2001:db8::1]:40000".parse().unwrap(),
            tls: true,
            stls: false,
            bytes_in: 10,
            bytes_out: 200,
            connected_ms: 1500,
            hostname: "mail.example".into(),
            imap: ImapConfig::default(),
            pop3: Pop3Config::default(),
            maildir_settings: MaildirConfig::default(),
            log: LogConfig::default(),
        }
    }

    #[tokio::test]
    async fn records_round_trip_and_leave_the_stream_after_them() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        sample().write_to(&mut a).await.unwrap();
        a.write_all(b"b SELECT INBOX\r\n").await.unwrap();
        drop(a);
        assert_eq!(Handoff::read_from(&mut b).await.unwrap(), sample());
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"b SELECT INBOX\r\n");
    }

    #[tokio::test]
    async fn oversized_and_truncated_records_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        assert!(matches!(
            Handoff::read_from(&mut b).await,
            Err(HandoffError::Invalid(_))
        ));
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&100u32.to_be_bytes()).await.unwrap();
        a.write_all(b"service = ").await.unwrap();
        drop(a);
        assert!(matches!(
            Handoff::read_from(&mut b).await,
            Err(HandoffError::Io(_))
        ));
    }
}
