//! One row of an import, as the file (or the API's JSON body) gives it, and its validation.
//! A rejection names the field and what was expected; it never repeats a token.

use crate::domain::{AccessToken, EmailAddress, MemberId, ProviderName, RefreshToken, UserId};
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;

/// The columns of a CSV header or the keys of a JSON line. Every field is text; an empty one
/// counts as absent. No `Debug`: it holds tokens.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRow {
    pub user_id: Option<String>,
    /// The configured provider the tokens are from; `linkedin` when absent, as every row was
    /// before there were others.
    pub provider: Option<String>,
    pub email: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub token_expires_at: Option<String>,
    pub refresh_token_expires_at: Option<String>,
    pub linked_at: Option<String>,
    pub member_id: Option<String>,
    pub name: Option<String>,
    pub scope: Option<String>,
}

/// The columns an import knows, in the order a CSV file is best written.
pub const COLUMNS: [&str; 11] = [
    "user_id",
    "provider",
    "email",
    "access_token",
    "refresh_token",
    "token_expires_at",
    "refresh_token_expires_at",
    "linked_at",
    "member_id",
    "name",
    "scope",
];

/// LinkedIn's access tokens are about 500 characters (plan for 1000); anything past this is
/// not a token but a mistake, such as a shifted column.
pub const MAX_TOKEN_LEN: usize = 4096;
pub const MAX_NAME_LEN: usize = 255;
pub const MAX_SCOPE_LEN: usize = 1024;

/// A row whose every field has passed its checks.
pub struct ValidRow {
    pub user_id: UserId,
    /// A well-formed name; whether it is configured is the importer's to check.
    pub provider: ProviderName,
    pub email: EmailAddress,
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub linked_at: Option<DateTime<Utc>>,
    /// Absent: LinkedIn's userinfo is asked with the access token.
    pub member_id: Option<MemberId>,
    pub name: Option<String>,
    /// Space separated, as LinkedIn's answers are stored.
    pub scope: String,
}

/// Every problem of the row, `; `-separated, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblems(pub String);

impl RawRow {
    pub fn validate(self) -> Result<ValidRow, RowProblems> {
        let mut problems = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(why) = result {
                problems.push(format!("{field}: {why}"));
            }
        };
        let present = |value: Option<String>| value.filter(|v| !v.is_empty());

        let user_id =
            required(present(self.user_id)).and_then(|v| UserId::parse(&v).map_err(|e| e.0));
        let provider = present(self.provider)
            .map(|v| ProviderName::parse(&v).map_err(|e| e.0))
            .transpose();
        let email =
            required(present(self.email)).and_then(|v| EmailAddress::parse(&v).map_err(|e| e.0));
        let access_token = required(present(self.access_token)).and_then(token);
        let refresh_token = present(self.refresh_token).map(token).transpose();
        let token_expires_at = present(self.token_expires_at)
            .map(|v| instant(&v))
            .transpose();
        let refresh_token_expires_at = present(self.refresh_token_expires_at)
            .map(|v| instant(&v))
            .transpose();
        let linked_at = present(self.linked_at).map(|v| instant(&v)).transpose();
        let member_id = present(self.member_id)
            .map(|v| MemberId::parse(&v).map_err(|e| e.0))
            .transpose();
        let name = present(self.name)
            .map(|v| bounded_text(v, MAX_NAME_LEN))
            .transpose();
        let scope = present(self.scope)
            .map(|v| bounded_text(v, MAX_SCOPE_LEN))
            .transpose();

        check("user_id", user_id.as_ref().map(drop).map_err(Clone::clone));
        check(
            "provider",
            provider.as_ref().map(drop).map_err(Clone::clone),
        );
        check("email", email.as_ref().map(drop).map_err(Clone::clone));
        check(
            "access_token",
            access_token.as_ref().map(drop).map_err(Clone::clone),
        );
        check(
            "refresh_token",
            refresh_token.as_ref().map(drop).map_err(Clone::clone),
        );
        check(
            "token_expires_at",
            token_expires_at.as_ref().map(drop).map_err(Clone::clone),
        );
        check(
            "refresh_token_expires_at",
            refresh_token_expires_at
                .as_ref()
                .map(drop)
                .map_err(Clone::clone),
        );
        check(
            "linked_at",
            linked_at.as_ref().map(drop).map_err(Clone::clone),
        );
        check(
            "member_id",
            member_id.as_ref().map(drop).map_err(Clone::clone),
        );
        check("name", name.as_ref().map(drop).map_err(Clone::clone));
        check("scope", scope.as_ref().map(drop).map_err(Clone::clone));
        if let (Ok(None), Ok(Some(_))) = (&refresh_token, &refresh_token_expires_at) {
            problems.push("refresh_token_expires_at: given without a refresh_token".to_owned());
        }
        if !problems.is_empty() {
            return Err(RowProblems(problems.join("; ")));
        }
        let (
            Ok(user_id),
            Ok(provider),
            Ok(email),
            Ok(access_token),
            Ok(refresh_token),
            Ok(token_expires_at),
            Ok(refresh_token_expires_at),
            Ok(linked_at),
            Ok(member_id),
            Ok(name),
            Ok(scope),
        ) = (
            user_id,
            provider,
            email,
            access_token,
            refresh_token,
            token_expires_at,
            refresh_token_expires_at,
            linked_at,
            member_id,
            name,
            scope,
        )
        else {
            unreachable!("every failed field was reported above");
        };
        Ok(ValidRow {
            user_id,
            provider: provider.unwrap_or_else(ProviderName::linkedin),
            email,
            access_token: AccessToken::new(access_token),
            refresh_token: refresh_token.map(RefreshToken::new),
            token_expires_at,
            refresh_token_expires_at,
            linked_at,
            member_id,
            name,
            scope: scope
                .map(|s| {
                    s.split([',', ' '])
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
        })
    }
}

fn required(value: Option<String>) -> Result<String, String> {
    value.ok_or_else(|| "required".to_owned())
}

/// Printable ASCII without spaces, as OAuth tokens are; the error never shows the value.
fn token(value: String) -> Result<String, String> {
    if value.len() > MAX_TOKEN_LEN {
        return Err(format!("longer than {MAX_TOKEN_LEN} bytes"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces".to_owned());
    }
    Ok(value)
}

fn bounded_text(value: String, max: usize) -> Result<String, String> {
    // Characters, as the OpenAPI document's `maxLength` counts; the columns are TEXT.
    if value.chars().count() > max {
        return Err(format!("longer than {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(value)
}

/// The instants an import accepts: RFC 3339 with its offset, as `2026-01-10T09:30:00Z` or
/// `2026-01-10T10:30:00.250+01:00` (a space may stand for the `T`), between the years 2000
/// and 2100. A date without a time or without an offset is refused: guessing the time zone
/// would move every deadline.
pub fn instant(value: &str) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(value.trim())
        .map_err(|_| {
            "expected an RFC 3339 instant with an offset, like 2026-01-10T09:30:00Z".to_owned()
        })?
        .with_timezone(&Utc);
    if !(2000..=2100).contains(&at.year()) {
        return Err("must lie between the years 2000 and 2100".to_owned());
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_scopes_are_bounded_in_characters_as_the_document_says() {
        assert!(super::bounded_text("\u{e9}".repeat(MAX_NAME_LEN), MAX_NAME_LEN).is_ok());
        let refused = super::bounded_text("\u{e9}".repeat(MAX_NAME_LEN + 1), MAX_NAME_LEN);
        assert_eq!(refused.unwrap_err(), "longer than 255 characters");
    }

    use super::*;
    use chrono::TimeZone;

    fn row() -> RawRow {
        RawRow {
            user_id: Some("u-1".into()),
            email: Some("ada@example.com".into()),
            access_token: Some("AQV-secret-access".into()),
            member_id: Some("m-1".into()),
            ..RawRow::default()
        }
    }

    fn problems(raw: RawRow) -> String {
        match raw.validate() {
            Ok(_) => panic!("accepted"),
            Err(RowProblems(p)) => p,
        }
    }

    #[test]
    fn a_minimal_row_is_valid_and_scopes_are_normalised() {
        let mut raw = row();
        raw.scope = Some("openid,w_member_social profile".into());
        raw.token_expires_at = Some("2026-01-10T10:30:00.250+01:00".into());
        let valid = raw.validate().ok().unwrap();
        assert_eq!(valid.user_id.as_str(), "u-1");
        assert_eq!(valid.scope, "openid w_member_social profile");
        assert_eq!(
            valid.token_expires_at,
            Some(
                Utc.with_ymd_and_hms(2026, 1, 10, 9, 30, 0).unwrap()
                    + chrono::Duration::milliseconds(250)
            )
        );
        assert!(valid.refresh_token.is_none());
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let raw = RawRow {
            user_id: Some(" u".into()),
            email: Some("not-an-email".into()),
            token_expires_at: Some("2026-01-10".into()),
            linked_at: Some("1970-01-01T00:00:00Z".into()),
            ..RawRow::default()
        };
        let p = problems(raw);
        for field in [
            "user_id:",
            "email:",
            "access_token: required",
            "token_expires_at: expected an RFC 3339",
            "linked_at: must lie between",
        ] {
            assert!(p.contains(field), "{field} in {p}");
        }
        assert!(!p.contains("member_id"), "{p}");
    }

    #[test]
    fn a_member_id_may_be_left_out_but_not_given_wrong() {
        let mut raw = row();
        raw.member_id = Some(String::new());
        assert!(raw.validate().ok().unwrap().member_id.is_none());
        let mut raw = row();
        raw.member_id = Some("m\u{7}".into());
        assert!(problems(raw).starts_with("member_id:"));
    }

    #[test]
    fn bad_tokens_are_refused_without_being_repeated() {
        for bad in [
            "AQV secret-with-space".to_owned(),
            "AQV-secret\u{7}".to_owned(),
            format!("AQV-secret{}", "x".repeat(MAX_TOKEN_LEN)),
        ] {
            let mut raw = row();
            raw.access_token = Some(bad.clone());
            raw.refresh_token = Some(bad);
            let p = problems(raw);
            assert!(
                p.contains("access_token:") && p.contains("refresh_token:"),
                "{p}"
            );
            assert!(!p.contains("secret"), "{p}");
        }
    }

    #[test]
    fn empty_fields_are_absent_and_a_lone_refresh_expiry_is_refused() {
        let mut raw = row();
        raw.refresh_token = Some(String::new());
        raw.refresh_token_expires_at = Some("2026-12-01T00:00:00Z".into());
        assert!(problems(raw).contains("refresh_token_expires_at: given without a refresh_token"));
        let mut raw = row();
        raw.name = Some(String::new());
        assert!(raw.validate().ok().unwrap().name.is_none());
    }

    #[test]
    fn a_row_names_its_provider_or_is_linkedins() {
        assert_eq!(row().validate().ok().unwrap().provider.as_str(), "linkedin");
        let mut raw = row();
        raw.provider = Some(String::new());
        assert_eq!(raw.validate().ok().unwrap().provider.as_str(), "linkedin");
        let mut raw = row();
        raw.provider = Some("x".into());
        assert_eq!(raw.validate().ok().unwrap().provider.as_str(), "x");
        let mut raw = row();
        raw.provider = Some("X".into());
        assert!(problems(raw).starts_with("provider: a provider name is"));
    }
}
