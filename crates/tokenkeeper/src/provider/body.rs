//! Reading a network's bodies without trusting their size: a proxy or a misbehaving endpoint
//! could send megabytes, and every body we expect fits in a few kilobytes.

/// Larger than any token, userinfo or error body a network sends (a LinkedIn access token is
/// about 500 characters); anything bigger is not an answer we can use.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads the body chunk by chunk and gives up as soon as it passes the limit, so a huge body
/// is never held in memory whole. `Err` says why the body is unusable: the caller reports it
/// as a malformed answer.
pub(crate) async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
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
            .map_err(|e| format!("reading the body failed: {e}"))?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large() -> String {
    format!("the body is larger than {MAX_BODY_BYTES} bytes")
}
