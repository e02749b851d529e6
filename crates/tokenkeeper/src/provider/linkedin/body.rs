//! Reading LinkedIn's bodies without trusting their size: a proxy or a misbehaving endpoint
//! could send megabytes, and every body we expect fits in a few kilobytes.

use super::error::LinkedInError;

/// Larger than any token, userinfo or error body LinkedIn sends (an access token is about 500
/// characters); anything bigger is not an answer we can use.
pub(super) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads the body chunk by chunk and gives up as soon as it passes the limit, so a huge body
/// is never held in memory whole.
pub(super) async fn read_limited(
    mut response: reqwest::Response,
) -> Result<Vec<u8>, LinkedInError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        // An answer cut short or too slow after its headers arrived is still an answer:
        // Malformed, never Timeout or Connect, so a single-use code is not sent twice.
        let chunk = response
            .chunk()
            .await
            .map_err(|e| LinkedInError::Malformed(format!("reading the body failed: {e}")))?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large() -> LinkedInError {
    LinkedInError::Malformed(format!("the body is larger than {MAX_BODY_BYTES} bytes"))
}
