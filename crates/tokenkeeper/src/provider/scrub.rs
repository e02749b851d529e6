//! Masking what a network echoes back. Error bodies may quote what they were sent (Graph's
//! "Malformed access token ...", a gateway echoing the form): before such text reaches a log,
//! `last_error` or a webhook, every secret we sent, and every run of characters long enough to
//! be a token, is masked.

/// A run of token characters at least this long is taken for a token (Meta's are 150 and
/// more, X's and Google's over 40) and masked, even if it is not one we sent.
const TOKEN_LIKE_RUN: usize = 32;

/// `text` with every secret we sent, and every run of token characters long enough to be a
/// token, masked.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '.');
    for c in text.chars().chain(std::iter::once(' ')) {
        if token_char(c) {
            run.push(c);
            continue;
        }
        if run.len() >= TOKEN_LIKE_RUN {
            out.push_str("[redacted]");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}
