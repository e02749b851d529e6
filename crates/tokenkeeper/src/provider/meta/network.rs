//! What sets Instagram, Threads and Facebook apart, spelled once: the grant names of their
//! exchanges, the fields `/me` is asked for, and whether a renewal must wait a day.

use crate::domain::ProviderKind;
use chrono::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetaNetwork {
    Instagram,
    Threads,
    Facebook,
}

impl MetaNetwork {
    pub fn of(kind: ProviderKind) -> Option<Self> {
        match kind {
            ProviderKind::Instagram => Some(Self::Instagram),
            ProviderKind::Threads => Some(Self::Threads),
            ProviderKind::Facebook => Some(Self::Facebook),
            _ => None,
        }
    }

    /// The short-lived to long-lived exchange's `grant_type`.
    pub fn exchange_grant(self) -> &'static str {
        match self {
            Self::Instagram => "ig_exchange_token",
            Self::Threads => "th_exchange_token",
            Self::Facebook => "fb_exchange_token",
        }
    }

    /// The long-lived token's renewal `grant_type` (Facebook renews with its exchange).
    pub fn refresh_grant(self) -> &'static str {
        match self {
            Self::Instagram => "ig_refresh_token",
            Self::Threads => "th_refresh_token",
            Self::Facebook => "fb_exchange_token",
        }
    }

    /// How old a long-lived token must be before it can be renewed: Instagram and Threads
    /// refuse one under 24 hours; Facebook exchanges any live token.
    pub fn renewal_min_age(self) -> Option<Duration> {
        match self {
            Self::Instagram | Self::Threads => Some(Duration::hours(24)),
            Self::Facebook => None,
        }
    }

    /// The fields `/me` is asked for: an id and a name to show.
    pub fn me_fields(self) -> &'static str {
        match self {
            // `user_id` is the professional account's id, the one the code exchange names;
            // `id` is app-scoped.
            Self::Instagram => "id,user_id,username",
            Self::Threads => "id,username",
            Self::Facebook => "id,name",
        }
    }

    /// The permission asked for when the operator names none: each network's basic one
    /// (Instagram and Threads renew only tokens that hold it).
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Self::Instagram => &["instagram_business_basic"],
            Self::Threads => &["threads_basic"],
            Self::Facebook => &["public_profile"],
        }
    }
}
