//! Logs captured by the test that makes them. Tests run on a current-thread runtime, so every
//! task of a test (the server's included) logs to the subscriber the test installs here.

use std::sync::{Arc, Mutex};
use tracing::subscriber::DefaultGuard;

#[derive(Clone, Copy)]
pub enum LogFormat {
    Human,
    Json,
}

/// Everything logged at or above `filter` while it lives.
pub struct LogCapture {
    buffer: Buffer,
    _guard: DefaultGuard,
}

impl LogCapture {
    pub fn start(filter: &str, format: LogFormat) -> Self {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let builder = tracing_subscriber::fmt()
            .with_env_filter(format!("{filter},fake_linkedin=off"))
            .with_ansi(false)
            .with_writer(move || writer.clone());
        let guard = match format {
            LogFormat::Human => tracing::subscriber::set_default(builder.finish()),
            LogFormat::Json => tracing::subscriber::set_default(builder.json().finish()),
        };
        Self::ask_call_sites_again();
        Self {
            buffer,
            _guard: guard,
        }
    }

    /// Another test running at the same time may have cached a call site's interest before
    /// this subscriber existed: call this again once the app under test is up.
    pub fn ask_call_sites_again() {
        tracing::callsite::rebuild_interest_cache();
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.buffer.0.lock().unwrap().clone()).unwrap()
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
