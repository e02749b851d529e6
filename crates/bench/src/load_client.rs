//! The read load's client: one keep-alive HTTP/1.1 connection per worker, each request written
//! as prepared bytes and each answer's head parsed by `httparse`, as wrk does. A general client
//! (reqwest) hands every request through its pool to a connection task of its own and back; on
//! the two cores the client shares with the server and the database, that took about a third
//! of the machine, which `pgbench -S`'s client in C does not take from its ceiling.

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Connection {
    stream: TcpStream,
    host: String,
    /// What has been read and not yet consumed: at most one answer's bytes and the start of
    /// nothing else (one request is outstanding at a time).
    read: Vec<u8>,
    request: Vec<u8>,
}

impl Connection {
    /// `host` is `address:port`.
    pub async fn open(host: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(host)
            .await
            .with_context(|| format!("cannot connect to {host}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            host: host.to_owned(),
            read: Vec::with_capacity(4096),
            request: Vec::with_capacity(256),
        })
    }

    /// Sends `GET path` (with the Bearer key when given) and reads the whole answer; returns
    /// its status.
    pub async fn get(&mut self, path: &str, bearer: Option<&str>) -> anyhow::Result<u16> {
        self.request.clear();
        self.request.extend_from_slice(b"GET ");
        self.request.extend_from_slice(path.as_bytes());
        self.request.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.request.extend_from_slice(self.host.as_bytes());
        if let Some(key) = bearer {
            self.request
                .extend_from_slice(b"\r\nAuthorization: Bearer ");
            self.request.extend_from_slice(key.as_bytes());
        }
        self.request.extend_from_slice(b"\r\n\r\n");
        self.stream.write_all(&self.request).await?;
        loop {
            if let Some((status, length)) = answer_length(&self.read)? {
                while self.read.len() < length {
                    self.fill().await?;
                }
                self.read.drain(..length);
                return Ok(status);
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let n = self.stream.read_buf(&mut self.read).await?;
        anyhow::ensure!(n > 0, "the server closed the connection mid-answer");
        Ok(())
    }
}

/// The status and whole length (head and body) of the answer at the start of `bytes`, once
/// its head is complete. Only answers with a Content-Length are read: the server's JSON and
/// text answers all have one.
fn answer_length(bytes: &[u8]) -> anyhow::Result<Option<(u16, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut answer = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = answer.parse(bytes)? else {
        return Ok(None);
    };
    let body = answer
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .context("an answer without Content-Length")?;
    let body: usize = std::str::from_utf8(body.value)?.trim().parse()?;
    let length = head
        .checked_add(body)
        .context("an answer longer than memory")?;
    Ok(Some((answer.code.unwrap_or(0), length)))
}

#[cfg(test)]
mod tests {
    use super::answer_length;

    #[test]
    fn an_answer_is_complete_with_its_head_and_content_length() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(answer_length(answer).unwrap(), Some((200, answer.len())));
        assert_eq!(answer_length(&answer[..10]).unwrap(), None);
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(answer_length(chunked).is_err());
        let absurd = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", usize::MAX);
        assert!(answer_length(absurd.as_bytes()).is_err());
    }
}
