//! A small SMTP server on a real socket, enough of RFC 5321 for lettre: EHLO/HELO, MAIL,
//! RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT, and AUTH PLAIN/LOGIN when asked. It
//! records what it accepts and can be told to refuse service, as a server in an outage does,
//! or to hold each message before accepting it, as a slow server does. Mail tests and the
//! simulated year send their reconnect emails to it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// A message the server holds before answering its DATA: dropping or sending on `release`
/// lets the server accept it.
pub struct Held {
    pub release: oneshot::Sender<()>,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// A header's value, with folded continuation lines joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut unfolded: Vec<String> = Vec::new();
        for line in self.data.lines().take_while(|l| !l.is_empty()) {
            match (line.starts_with([' ', '\t']), unfolded.last_mut()) {
                (true, Some(last)) => last.push_str(line),
                _ => unfolded.push(line.to_owned()),
            }
        }
        unfolded
            .into_iter()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

impl Received {
    /// The multipart boundary the message's Content-Type names.
    fn boundary(&self) -> Option<String> {
        let content_type = self.header("Content-Type")?;
        let (_, after) = content_type.split_once("boundary=")?;
        let value = after.split(';').next()?.trim().trim_matches('"');
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The decoded text/plain part (base64 or quoted-printable, as lettre sends them).
    pub fn text(&self) -> Option<String> {
        let data = &self.data;
        let part = &data[data.find("Content-Type: text/plain")?..];
        let headers_end = part.find("\n\n")?;
        let headers = &part[..headers_end];
        let body = &part[headers_end + 2..];
        // The part ends at the message's own boundary line. Not at any line starting with
        // "--": a quoted-printable soft break can leave a signed link's "--" at a line start.
        let end = match self.boundary() {
            Some(boundary) => body.find(&format!("\n--{boundary}")),
            None => body.find("\n--"),
        };
        let body = &body[..end.unwrap_or(body.len())];
        if headers.contains("base64") {
            use base64::Engine;
            let joined: String = body.lines().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(joined)
                .ok()?;
            String::from_utf8(bytes).ok()
        } else if headers.contains("quoted-printable") {
            let soft = body.replace("=\n", "");
            let bytes = soft.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                let escaped = (bytes[i] == b'=' && i + 2 < bytes.len())
                    .then(|| u8::from_str_radix(soft.get(i + 1..i + 3)?, 16).ok())
                    .flatten();
                match escaped {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
            }
            String::from_utf8(out).ok()
        } else {
            Some(body.to_owned())
        }
    }
}

#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
    hold: Arc<Mutex<Option<mpsc::UnboundedSender<Held>>>>,
    arrived: Arc<tokio::sync::Notify>,
    /// When set, the user and password a client must authenticate with (AUTH PLAIN or LOGIN)
    /// before it may send.
    credentials: Arc<Mutex<Option<(String, String)>>>,
    authenticated: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    /// Listens on a free port of 127.0.0.1; panics if none can be had (a test's set-up).
    pub async fn start() -> Self {
        Self::try_start()
            .await
            .expect("a local port for the SMTP server")
    }

    pub async fn try_start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let server = SmtpServer {
            port,
            received: Arc::default(),
            down: Arc::default(),
            hold: Arc::default(),
            arrived: Arc::default(),
            credentials: Arc::default(),
            authenticated: Arc::default(),
        };
        let shared = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = shared.session(socket).await;
                });
            }
        });
        Ok(server)
    }

    /// While down, every connection is greeted with 421 and closed.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// From now on, every message is held at the end of its DATA until released: the
    /// returned channel announces each one, so a test knows a send is under way.
    pub fn hold_messages(&self) -> mpsc::UnboundedReceiver<Held> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.hold.lock().unwrap() = Some(tx);
        rx
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The messages accepted since the last take, which the server then forgets: a long
    /// simulation reads its mail as it comes rather than keep a year of it in memory.
    pub fn take_received(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }

    /// From now on, clients must authenticate as `user` with `password`.
    pub fn require_auth(&self, user: &str, password: &str) {
        *self.credentials.lock().unwrap() = Some((user.to_owned(), password.to_owned()));
    }

    /// The users that authenticated successfully, one entry per session.
    pub fn authenticated(&self) -> Vec<String> {
        self.authenticated.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages were accepted (bound it with a timeout).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            arrived.await;
        }
    }

    async fn session(&self, socket: tokio::net::TcpStream) -> std::io::Result<()> {
        // Each reply goes out at once, not after the client's delayed ACK.
        socket.set_nodelay(true)?;
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        if self.down.load(Ordering::SeqCst) {
            write
                .write_all(b"421 test.smtp Service not available, closing channel\r\n")
                .await?;
            return Ok(());
        }
        write.write_all(b"220 test.smtp ESMTP ready\r\n").await?;
        let mut from = String::new();
        let mut to = Vec::new();
        let required = self.credentials.lock().unwrap().clone();
        let mut signed_in = false;
        while let Some(line) = lines.next_line().await? {
            let upper = line.to_ascii_uppercase();
            if required.is_some() && upper.starts_with("EHLO") {
                write
                    .write_all(b"250-test.smtp\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                    .await?;
                continue;
            }
            if let (Some((user, password)), true) = (&required, upper.starts_with("AUTH ")) {
                let given = match upper.split_whitespace().nth(1) {
                    Some("PLAIN") => {
                        let initial = match line.split_whitespace().nth(2) {
                            Some(initial) => initial.to_owned(),
                            None => {
                                write.write_all(b"334 \r\n").await?;
                                lines.next_line().await?.unwrap_or_default()
                            }
                        };
                        let decoded = decode(&initial);
                        let mut parts = decoded.split('\0').skip(1);
                        parts
                            .next()
                            .zip(parts.next())
                            .map(|(u, p)| (u.to_owned(), p.to_owned()))
                    }
                    Some("LOGIN") => {
                        write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                        let u = decode(&lines.next_line().await?.unwrap_or_default());
                        write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                        let p = decode(&lines.next_line().await?.unwrap_or_default());
                        Some((u, p))
                    }
                    _ => None,
                };
                signed_in = given.as_ref() == Some(&(user.clone(), password.clone()));
                if signed_in {
                    self.authenticated.lock().unwrap().push(user.clone());
                    write
                        .write_all(b"235 2.7.0 Authentication successful\r\n")
                        .await?;
                } else {
                    write
                        .write_all(b"535 5.7.8 Authentication credentials invalid\r\n")
                        .await?;
                }
                continue;
            }
            if required.is_some() && !signed_in && upper.starts_with("MAIL FROM:") {
                write
                    .write_all(b"530 5.7.0 Authentication required\r\n")
                    .await?;
                continue;
            }
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-test.smtp\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
            } else if upper.starts_with("HELO") {
                b"250 test.smtp\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().to_owned();
                to.clear();
                b"250 OK\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().to_owned());
                b"250 OK\r\n"
            } else if upper == "DATA" {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    let line = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(line);
                    data.push('\n');
                }
                let mail = Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                };
                let hold = self.hold.lock().unwrap().clone();
                if let Some(hold) = hold {
                    let (release, released) = oneshot::channel();
                    if hold.send(Held { release }).is_ok() {
                        let _ = released.await;
                    }
                }
                self.received.lock().unwrap().push(mail);
                self.arrived.notify_waiters();
                b"250 OK queued as test\r\n"
            } else if upper == "RSET" || upper == "NOOP" {
                b"250 OK\r\n"
            } else if upper == "QUIT" {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else {
                b"502 Command not implemented\r\n"
            };
            write.write_all(reply).await?;
        }
        Ok(())
    }
}

fn decode(text: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_part_ends_at_its_boundary_not_at_a_line_starting_with_two_dashes() {
        let data = "Content-Type: multipart/alternative;\n boundary=\"b1\"\n\n--b1\n\
            Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
            https://tk.example/connect/x?sig=3Dab=\n--cd\n--b1\nContent-Type: text/html\n\n<p>x</p>\n--b1--\n";
        let mail = Received {
            from: String::new(),
            to: vec![],
            data: data.to_owned(),
        };
        assert_eq!(
            mail.text().unwrap().trim(),
            "https://tk.example/connect/x?sig=ab--cd"
        );
    }
}
