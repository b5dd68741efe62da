//! A small POP3 client (RFC 1939): USER/PASS, UIDL, QUIT.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};

use crate::conn::{Stream, Target};
use crate::imap::{Error, Result};

/// A POP3 connection.
pub struct Client {
    io: BufStream<Box<dyn Stream>>,
    timeout: Duration,
}

impl Client {
    /// Connects, reads the greeting and logs in with USER/PASS.
    pub async fn login(target: &Target, user: &str, pass: &str, t: Duration) -> Result<Client> {
        let stream = tokio::time::timeout(t, target.connect())
            .await
            .map_err(|_| Error::Timeout(t))??;
        let mut c = Client {
            io: BufStream::new(stream),
            timeout: t,
        };
        c.status().await?;
        c.command(&format!("USER {user}")).await?;
        c.command(&format!("PASS {pass}")).await?;
        Ok(c)
    }

    /// UIDL: returns the number of listed messages.
    pub async fn uidl(&mut self) -> Result<usize> {
        self.command("UIDL").await?;
        let mut n = 0;
        loop {
            let line = self.line().await?;
            if line == "." {
                return Ok(n);
            }
            n += 1;
        }
    }

    /// QUIT.
    pub async fn quit(mut self) -> Result<()> {
        self.command("QUIT").await.map(|_| ())
    }

    async fn command(&mut self, line: &str) -> Result<String> {
        let t = self.timeout;
        tokio::time::timeout(t, async {
            self.io.write_all(format!("{line}\r\n").as_bytes()).await?;
            self.io.flush().await
        })
        .await
        .map_err(|_| Error::Timeout(t))??;
        self.status().await
    }

    async fn status(&mut self) -> Result<String> {
        let line = self.line().await?;
        if line.starts_with("+OK") {
            Ok(line)
        } else {
            Err(Error::Refused(line))
        }
    }

    async fn line(&mut self) -> Result<String> {
        let t = self.timeout;
        let mut buf = Vec::new();
        let n = tokio::time::timeout(t, (&mut self.io).take(1 << 20).read_until(b'\n', &mut buf))
            .await
            .map_err(|_| Error::Timeout(t))??;
        if n == 0 || !buf.ends_with(b"\n") {
            return Err(Error::Protocol("connection closed or line too long".into()));
        }
        let s = String::from_utf8_lossy(&buf);
        Ok(s.trim_end_matches(['\r', '\n']).to_string())
    }
}
