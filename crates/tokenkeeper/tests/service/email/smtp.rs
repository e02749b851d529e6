//! The SMTP server the mail tests send to (it lives with the fakes, which the simulated year
//! shares), and hostile servers (silent, trickling) that misbehave on purpose.

pub use fake_linkedin::smtp::{Received, SmtpServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A server that accepts connections and then says nothing, ever.
pub async fn silent_server() -> u16 {
    hostile_server(|mut socket| async move {
        let mut sink = [0u8; 1024];
        use tokio::io::AsyncReadExt;
        while socket.read(&mut sink).await.is_ok_and(|n| n > 0) {}
    })
    .await
}

/// A server that greets one byte every 20 ms and never finishes the line: no single read
/// waits long, but the conversation never gets anywhere.
pub async fn trickling_server() -> u16 {
    hostile_server(|mut socket| async move {
        for byte in b"220 ".iter().chain(std::iter::repeat(&b'x')) {
            if socket.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A server that greets normally and then refuses the sender with `lines` lines of text.
pub async fn verbose_refusing_server(lines: usize) -> u16 {
    hostile_server(move |socket| async move {
        let (read, mut write) = socket.into_split();
        let mut commands = BufReader::new(read).lines();
        let _ = write.write_all(b"220 test.smtp ESMTP ready\r\n").await;
        while let Ok(Some(line)) = commands.next_line().await {
            let upper = line.to_ascii_uppercase();
            let reply = if upper.starts_with("EHLO") {
                "250 test.smtp\r\n".to_owned()
            } else if upper.starts_with("MAIL FROM:") {
                let filler = "no. ".repeat(100);
                let mut text = String::new();
                for i in 0..lines {
                    let more = if i + 1 < lines { '-' } else { ' ' };
                    text.push_str(&format!("550{more}5.7.1 {i} {filler}\r\n"));
                }
                text
            } else if upper == "QUIT" {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            } else {
                "250 OK\r\n".to_owned()
            };
            if write.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await
}

async fn hostile_server<F, Fut>(session: F) -> u16
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(session(socket));
        }
    });
    port
}
