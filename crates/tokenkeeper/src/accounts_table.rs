//! The accounts as a terminal shows them: shared by the `accounts` command and the demo, so
//! neither has to import the other.

use crate::domain::Account;
use crate::domain::EnumText;

/// A plain-text table of accounts, as the `accounts` command and the demo print it.
pub fn accounts_table(accounts: &[Account]) -> String {
    let mut out = format!(
        "{:<12} {:<14} {:<16} {:<25} {:<25} {}\n",
        "user", "member", "status", "expiration (UTC)", "token expires (UTC)", "refresh token"
    );
    for a in accounts {
        let refresh = match a.refresh_token_expires_at {
            Some(until) if a.has_refresh_token() => {
                format!("yes, until {}", until.format("%Y-%m-%d"))
            }
            _ if a.has_refresh_token() => "yes".to_owned(),
            _ => "no".to_owned(),
        };
        out.push_str(&format!(
            "{:<12} {:<14} {:<16} {:<25} {:<25} {}\n",
            a.user_id.as_str(),
            a.member_id.as_str(),
            a.status.as_str(),
            a.expiration.format("%Y-%m-%d %H:%M:%S"),
            a.token_expires_at.format("%Y-%m-%d %H:%M:%S"),
            refresh
        ));
    }
    if accounts.is_empty() {
        out.push_str("(no accounts)\n");
    }
    out
}
