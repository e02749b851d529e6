//! `[providers.NAME]`: each kind's keys, read from the file and from variables, refused
//! under their key when wrong, printed with their origin and without their secret.

use super::tests::{file, load, load_file};
use super::*;
use crate::domain::{EnumText, ProviderKind};
use secrecy::ExposeSecret;

fn acme(config: &Config) -> &ProviderSettings {
    &config.providers[&ProviderName::parse("acme").unwrap()]
}

/// The key named by the refusal of `[providers.acme]` holding `section`.
fn refused_key(section: &str) -> String {
    let file = file(&format!("[providers.acme]\n{section}"));
    match load_file(Some(file.path()), &[]) {
        Err(ConfigError::Invalid { key, .. }) => key,
        Err(other) => panic!("expected an invalid key, got {other}"),
        Ok(_) => panic!("taken:\n{section}"),
    }
}

/// The least each kind takes.
const MINIMAL: [(&str, &str); 9] = [
    ("linkedin", "client_id = \"c\"\nclient_secret = \"s\""),
    ("x", "client_id = \"c\""),
    ("google", "client_id = \"c\"\nclient_secret = \"s\""),
    ("tiktok", "client_id = \"c\"\nclient_secret = \"s\""),
    ("instagram", "client_id = \"c\"\nclient_secret = \"s\""),
    ("threads", "client_id = \"c\"\nclient_secret = \"s\""),
    ("facebook", "client_id = \"c\"\nclient_secret = \"s\""),
    (
        "oidc",
        "client_id = \"c\"\nissuer = \"https://id.example.com\"\ndisplay_name = \"Acme ID\"",
    ),
    (
        "oauth2",
        "client_id = \"c\"\nauthorize_url = \"https://a.example.com/authorize\"\n\
         token_url = \"https://a.example.com/token\"\ndisplay_name = \"Acme\"",
    ),
];

#[test]
fn each_kind_loads_with_its_required_keys_and_names_each_one_missing() {
    assert_eq!(MINIMAL.len(), ProviderKind::ALL.len());
    for (kind, keys) in MINIMAL {
        let section = format!("kind = \"{kind}\"\n{keys}");
        let file = file(&format!("[providers.acme]\n{section}"));
        let config = load_file(Some(file.path()), &[]).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(acme(&config).kind.as_str(), kind);
        // Every line is required: without it, the refusal names its key.
        for line in section.lines() {
            let name = line.split(" = ").next().unwrap();
            let without: Vec<&str> = section.lines().filter(|l| *l != line).collect();
            assert_eq!(
                refused_key(&without.join("\n")),
                format!("providers.acme.{name}"),
                "{kind} without {name}"
            );
        }
    }
    // The kinds that take a public client want a secret otherwise.
    assert_eq!(
        refused_key("kind = \"google\"\nclient_id = \"c\""),
        "providers.acme.client_secret"
    );
}

#[test]
fn a_kind_gets_its_defaults_filled_in() {
    let file = file(
        "[providers.acme]\nkind = \"x\"\nclient_id = \"c\"\n\
         [providers.corp]\nkind = \"oauth2\"\nclient_id = \"c\"\ndisplay_name = \"Corp\"\n\
         authorize_url = \"https://corp.example.com/a\"\ntoken_url = \"https://corp.example.com/t\"",
    );
    let config = load_file(Some(file.path()), &[]).unwrap();
    let x = acme(&config);
    assert_eq!(x.display_name, "X");
    assert!(
        x.scopes.contains(&"offline.access".to_owned()),
        "{:?}",
        x.scopes
    );
    assert_eq!(x.min_validity, chrono::Duration::seconds(60));
    assert_eq!(x.timeout, std::time::Duration::from_secs(20));
    assert!(x.client_secret().is_none(), "a public client");
    assert_eq!(
        x.token_url, None,
        "the network's own, known to its provider"
    );
    assert_eq!(x.pkce, None);
    let corp = &config.providers[&ProviderName::parse("corp").unwrap()];
    assert_eq!(corp.client_auth, Some(ClientAuth::Basic));
    assert_eq!(corp.scope_separator.as_deref(), Some(" "));
    assert_eq!(corp.pkce, Some(true));
    assert!(corp.scopes.is_empty());
    let names: Vec<String> = config
        .all_providers()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(names, ["linkedin", "acme", "corp"]);
    let (_, linkedin) = config.all_providers().next().unwrap();
    assert_eq!(linkedin.kind, ProviderKind::LinkedIn);
    assert_eq!(linkedin.token_url, Some(config.linkedin.token_url.clone()));
}

#[test]
fn variables_name_a_provider_and_its_keys() {
    let config = load(&[
        ("TOKENKEEPER_PROVIDERS__ACME__KIND", "oauth2"),
        ("TOKENKEEPER_PROVIDERS__ACME__CLIENT_ID", "007"),
        ("TOKENKEEPER_PROVIDERS__ACME__CLIENT_SECRET", "acme-s3cret"),
        ("TOKENKEEPER_PROVIDERS__ACME__DISPLAY_NAME", "Acme"),
        (
            "TOKENKEEPER_PROVIDERS__ACME__AUTHORIZE_URL",
            "https://acme.example.com/authorize",
        ),
        (
            "TOKENKEEPER_PROVIDERS__ACME__TOKEN_URL",
            "https://acme.example.com/token",
        ),
        ("TOKENKEEPER_PROVIDERS__ACME__SCOPES", "read  write"),
        ("TOKENKEEPER_PROVIDERS__ACME__SCOPE_SEPARATOR", ","),
        ("TOKENKEEPER_PROVIDERS__ACME__CLIENT_AUTH", "post"),
        ("TOKENKEEPER_PROVIDERS__ACME__PKCE", "false"),
        ("TOKENKEEPER_PROVIDERS__ACME__MIN_VALIDITY_SECONDS", "0"),
        ("TOKENKEEPER_PROVIDERS__ACME__TIMEOUT_SECONDS", "5"),
        (
            "TOKENKEEPER_PROVIDERS__ACME__AUTHORIZE_PARAMS__PROMPT",
            "consent",
        ),
        ("TOKENKEEPER_PROVIDERS__GOOGLE_WORK__KIND", "google"),
        ("TOKENKEEPER_PROVIDERS__GOOGLE_WORK__CLIENT_ID", "g"),
        (
            "TOKENKEEPER_PROVIDERS__GOOGLE_WORK__CLIENT_SECRET",
            "g-secret",
        ),
    ])
    .unwrap();
    let acme = acme(&config);
    assert_eq!(acme.client_id, "007", "text stays text");
    assert_eq!(acme.client_secret().unwrap().expose_secret(), "acme-s3cret");
    assert_eq!(acme.scopes, ["read", "write"]);
    assert_eq!(acme.scope_separator.as_deref(), Some(","));
    assert_eq!(acme.client_auth, Some(ClientAuth::Post));
    assert_eq!(acme.pkce, Some(false));
    assert_eq!(acme.min_validity, chrono::Duration::zero());
    assert_eq!(acme.timeout, std::time::Duration::from_secs(5));
    assert_eq!(acme.authorize_params["prompt"], "consent");
    let google = &config.providers[&ProviderName::parse("google_work").unwrap()];
    assert_eq!(google.display_name, "Google");

    for var in [
        "TOKENKEEPER_PROVIDERS__ACME__SECRET",
        "TOKENKEEPER_PROVIDERS__ACME",
        "TOKENKEEPER_PROVIDERS__ACME__AUTHORIZE_PARAMS",
    ] {
        let err = load(&[(var, "x")]).unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownVariable { .. }),
            "{var}: {err}"
        );
    }
    let err = load(&[
        ("TOKENKEEPER_PROVIDERS__ACME__KIND", "x"),
        ("TOKENKEEPER_PROVIDERS__ACME__CLIENT_ID", "c"),
        ("TOKENKEEPER_PROVIDERS__ACME__TIMEOUT_SECONDS", "soon"),
    ])
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("TOKENKEEPER_PROVIDERS__ACME__TIMEOUT_SECONDS"),
        "{err}"
    );
}

#[test]
fn a_key_of_another_kind_is_refused_naming_it() {
    let x = "kind = \"x\"\nclient_id = \"c\"\n";
    let oidc = "kind = \"oidc\"\nclient_id = \"c\"\ndisplay_name = \"Id\"\n\
                issuer = \"https://id.example.com\"\n";
    for (section, key) in [
        (format!("{x}issuer = \"https://id.example.com\""), "issuer"),
        (format!("{x}client_auth = \"post\""), "client_auth"),
        (format!("{x}pkce = false"), "pkce"),
        (format!("{x}scope_separator = \",\""), "scope_separator"),
        (
            format!("{x}[providers.acme.authorize_params]\nprompt = \"consent\""),
            "authorize_params",
        ),
        (
            format!("{oidc}token_url = \"https://id.example.com/t\""),
            "token_url",
        ),
        (
            format!("{oidc}userinfo_url = \"https://id.example.com/u\""),
            "userinfo_url",
        ),
        (format!("{oidc}pkce = true"), "pkce"),
    ] {
        assert_eq!(
            refused_key(&section),
            format!("providers.acme.{key}"),
            "{section}"
        );
    }
    let wrong = file(&format!(
        "[providers.acme]\n{x}issuer = \"https://id.example.com\""
    ));
    let err = load_file(Some(wrong.path()), &[]).unwrap_err().to_string();
    assert!(
        err.contains("`providers.acme.issuer`: applies only to kind = oidc (in "),
        "{err}"
    );
    // And oidc takes what oidc takes.
    let file = file(&format!("[providers.acme]\n{oidc}client_auth = \"post\""));
    let config = load_file(Some(file.path()), &[]).unwrap();
    assert_eq!(acme(&config).client_auth, Some(ClientAuth::Post));
}

#[test]
fn a_bad_value_is_refused_naming_its_key() {
    let x = "kind = \"x\"\nclient_id = \"c\"\n";
    for (line, key) in [
        ("token_url = \"ftp://x\"", "token_url"),
        ("authorize_url = \"nowhere\"", "authorize_url"),
        ("min_validity_seconds = 3601", "min_validity_seconds"),
        ("timeout_seconds = 0", "timeout_seconds"),
        ("client_id = 5", "client_id"),
        ("scopes = [\"a\"]", "scopes"),
        ("colour = \"blue\"", "colour"),
    ] {
        let section =
            format!("{x}{line}").replacen("client_id = \"c\"\n", "", (key == "client_id") as usize);
        assert_eq!(
            refused_key(&section),
            format!("providers.acme.{key}"),
            "{line}"
        );
    }
    assert_eq!(
        refused_key("kind = \"myspace\"\nclient_id = \"c\""),
        "providers.acme.kind"
    );
    assert_eq!(refused_key("client_id = \"c\""), "providers.acme.kind");
    let oauth2 = "kind = \"oauth2\"\nclient_id = \"c\"\ndisplay_name = \"A\"\n\
                  authorize_url = \"https://a.example.com/a\"\ntoken_url = \"https://a.example.com/t\"\n";
    for (line, key) in [
        ("client_auth = \"jwt\"", "client_auth"),
        ("scope_separator = \"\"", "scope_separator"),
        ("pkce = \"yes\"", "pkce"),
    ] {
        assert_eq!(
            refused_key(&format!("{oauth2}{line}")),
            format!("providers.acme.{key}")
        );
    }
}

#[test]
fn a_name_that_is_not_a_lowercase_identifier_is_refused() {
    for name in ["Acme", "1st", "my-acme"] {
        let file = file(&format!(
            "[providers.\"{name}\"]\nkind = \"x\"\nclient_id = \"c\""
        ));
        let err = load_file(Some(file.path()), &[]).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains(&format!("[providers.{name}]")), "{shown}");
        assert!(matches!(err, ConfigError::Invalid { key, .. } if key == "providers"));
    }
    let err = load(&[("TOKENKEEPER_PROVIDERS__MY-ACME__KIND", "x")]).unwrap_err();
    assert!(err.to_string().contains("[providers.my-acme]"), "{err}");
}

#[test]
fn linkedin_given_in_both_sections_is_refused_naming_both() {
    let file = file(
        "[linkedin]\nclient_id = \"a\"\n[providers.linkedin]\nkind = \"linkedin\"\n\
         client_id = \"b\"\nclient_secret = \"s\"",
    );
    let err = load_file(Some(file.path()), &[]).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("[linkedin]") && shown.contains("TOKENKEEPER_LINKEDIN__"),
        "{shown}"
    );
    assert!(matches!(err, ConfigError::Invalid { key, .. } if key == "providers.linkedin"));
    // A second LinkedIn app under another name is a provider like any other.
    let file = super::tests::file(
        "[providers.linkedin_eu]\nkind = \"linkedin\"\nclient_id = \"b\"\nclient_secret = \"s\"",
    );
    let config = load_file(Some(file.path()), &[]).unwrap();
    assert_eq!(config.all_providers().count(), 2);
}

#[test]
fn providers_are_printed_with_their_origin_and_without_their_secret() {
    let file = file(
        "[providers.acme]\nkind = \"oidc\"\nclient_id = \"acme-id\"\n\
         issuer = \"https://id.example.com/\"\ndisplay_name = \"Acme ID\"",
    );
    let mut vars = vec![(
        "TOKENKEEPER_PROVIDERS__ACME__CLIENT_SECRET".to_owned(),
        "acme-s3cret-value".to_owned(),
    )];
    vars.extend(super::tests::minimal());
    let loaded = Config::read(Some(file.path()), vars).unwrap();
    let shown = loaded.annotated_toml();
    assert!(!shown.contains("acme-s3cret-value"), "{shown}");
    let path = file.path().display().to_string();
    for line in [
        "[providers.acme]".to_owned(),
        format!("kind = \"oidc\"  # {path}"),
        format!("client_id = \"acme-id\"  # {path}"),
        "client_secret = \"[redacted]\"  # TOKENKEEPER_PROVIDERS__ACME__CLIENT_SECRET".to_owned(),
        "min_validity_seconds = 60  # default".to_owned(),
        format!("issuer = \"https://id.example.com/\"  # {path}"),
    ] {
        assert!(shown.lines().any(|l| l == line), "no {line:?} in:\n{shown}");
    }
    // Keys of other kinds are not printed, so the output reads back as it is.
    assert!(!shown.contains("token_url = \"\""), "{shown}");
    let config = loaded.complete().unwrap();
    assert!(!format!("{config:?}").contains("acme-s3cret-value"));
    let printed = super::tests::file(
        &config
            .redacted_toml()
            .replace("[redacted]", "a secret again, as long as a signing key"),
    );
    let again = load_file(Some(printed.path()), &[]).unwrap();
    assert_eq!(acme(&again).issuer, acme(&config).issuer);
}
