//! A new keyring entry, for `tokenkeeper keys generate`.

use super::keyring::encode_key;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;
use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

/// `KID:BASE64KEY` with 32 bytes from the OS RNG. The kid starts with the day it was made, so
/// a keyring reads oldest to newest, and ends with a random suffix, so two keys made on one
/// day (on two machines, say) never share an id.
pub fn new_entry(now: DateTime<Utc>) -> Zeroizing<String> {
    let mut key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(key.as_mut());
    let suffix = OsRng.next_u32() & 0x00ff_ffff;
    Zeroizing::new(format!(
        "{}-{suffix:06x}:{}",
        now.format("%Y%m%d"),
        *Zeroizing::new(encode_key(key.as_ref()))
    ))
}
