//! The accounts as a terminal shows them: shared by the `accounts` command and the demo, so
//! neither has to import the other.

use crate::domain::Account;
use crate::domain::EnumText;

/// A plain-text table of accounts, as the `accounts` command and the demo print it.
pub fn accounts_table(accounts: &[Account]) -> String {
    let header = [
        "user",
        "provider",
        "member",
        "status",
        "expiration (UTC)",
        "token expires (UTC)",
        "refresh token",
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for a in accounts {
        let refresh = match a.refresh_token_expires_at {
            Some(until) if a.has_refresh_token() => {
                format!("yes, until {}", until.format("%Y-%m-%d"))
            }
            _ if a.has_refresh_token() => "yes".to_owned(),
            _ => "no".to_owned(),
        };
        rows.push(vec![
            a.user_id.as_str().to_owned(),
            a.provider.to_string(),
            a.member_id.as_str().to_owned(),
            a.status.as_str().to_owned(),
            a.expiration.format("%Y-%m-%d %H:%M:%S").to_string(),
            a.token_expires_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            refresh,
        ]);
    }
    let mut out = aligned_columns(&rows);
    if accounts.is_empty() {
        out.push_str("(no accounts)\n");
    }
    out
}

/// Rows of cells as columns, each as wide as its widest cell and two spaces from the next, so
/// that no name is too long for its column. Widths count characters, not bytes.
pub fn aligned_columns(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_longest_cell() {
        let rows = vec![
            vec!["user".into(), "status".into()],
            vec!["ada".into(), "active".into()],
            vec!["margaret-hamilton".into(), "needs_reconnect".into()],
            vec!["café".into(), "expired".into()],
        ];
        let table = aligned_columns(&rows);
        let lines: Vec<&str> = table.lines().collect();
        // Every second column starts at the same character, past the longest name.
        let starts: Vec<usize> = lines
            .iter()
            .map(|line| line.chars().position(|c| c == ' ').unwrap())
            .collect();
        assert!(starts.iter().all(|&s| s <= "margaret-hamilton".len()));
        let second: Vec<String> = lines
            .iter()
            .map(|line| line.chars().skip("margaret-hamilton".len() + 2).collect())
            .collect();
        assert_eq!(second, ["status", "active", "needs_reconnect", "expired"]);
        assert!(lines.iter().all(|line| !line.ends_with(' ')));
    }
}
