use super::*;
use std::io::Write;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn minimal() -> Vec<(String, String)> {
    env(&[
        ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "86abc"),
        ("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "s3cr3t-value"),
        (
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "0123456789abcdef0123456789abcdef",
        ),
    ])
}

/// `minimal()` with `extra` laid over it, and the file if any.
pub(super) fn load_file(
    file: Option<&Path>,
    extra: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let mut vars = minimal();
    vars.extend(env(extra));
    Config::load_from(file, vars)
}

pub(super) fn load(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load_file(None, extra)
}

/// A configuration file holding `text`.
pub(super) fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{text}").unwrap();
    file
}

/// The key named by the refusal of each `VAR=value` laid over `minimal()`.
fn assert_refused(cases: &[(&str, &str, &str)]) {
    for (var, value, key) in cases {
        assert_eq!(
            key_of(load(&[(var, value)]).unwrap_err()),
            *key,
            "{var}={value}"
        );
    }
}

fn key_of(err: ConfigError) -> String {
    match err {
        ConfigError::Invalid { key, .. } => key,
        other => panic!("expected an invalid key, got {other}"),
    }
}

#[test]
fn every_required_key_missing_is_named_at_once() {
    let missing = |vars| match Config::load_from(None, vars).unwrap_err() {
        ConfigError::Missing { keys } => keys.into_iter().map(|(key, _)| key).collect::<Vec<_>>(),
        other => panic!("expected the missing keys, got {other}"),
    };
    let all = [
        "linkedin.client_id",
        "linkedin.client_secret",
        "connect.signing_key",
    ];
    assert_eq!(missing(env(&[])), all);
    let err = Config::load_from(None, env(&[])).unwrap_err().to_string();
    for var in [
        "TOKENKEEPER_LINKEDIN__CLIENT_ID",
        "TOKENKEEPER_CONNECT__SIGNING_KEY",
    ] {
        assert!(err.contains(var), "{err}");
    }
    let mut vars = minimal();
    vars.retain(|(k, _)| !k.starts_with("TOKENKEEPER_LINKEDIN__"));
    vars.push(("TOKENKEEPER_LINKEDIN__CLIENT_ID".into(), "  ".into()));
    assert_eq!(missing(vars), all[..2]);
}

#[test]
fn environment_overrides_defaults_with_typed_values() {
    let config = load(&[
        ("TOKENKEEPER_REFRESH__REFRESH_AFTER_DAYS", "40"),
        ("TOKENKEEPER_DATABASE_URL", "postgres://u@db/tk"),
        (
            "TOKENKEEPER_CONNECT__ALLOWED_RETURN_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        ),
        ("TOKENKEEPER_CONFIG", "ignored: read by the command line"),
    ])
    .unwrap();
    assert_eq!(config.refresh.refresh_after, Duration::days(40));
    assert_eq!(config.database_url, "postgres://u@db/tk");
    assert_eq!(config.connect.allowed_return_origins.len(), 2);
    assert_eq!(
        config.linkedin.scope,
        "openid profile email w_member_social"
    );
}

#[test]
fn a_non_number_in_the_environment_names_the_key() {
    let err = load(&[("TOKENKEEPER_REFRESH__REFRESH_AFTER_DAYS", "fifty")]).unwrap_err();
    assert!(
        err.to_string().contains("refresh.refresh_after_days"),
        "{err}"
    );
}

#[test]
fn an_unknown_variable_is_refused() {
    let err = load(&[("TOKENKEEPER_LINKEDIN__CLIENTID", "x")]).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownVariable { .. }), "{err}");
}

#[test]
fn file_values_are_layered_and_checked() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "[linkedin]\nclient_id = \"from-file\"\n[schedule]\ntimezone = \"Europe/Paris\""
    )
    .unwrap();
    let config = load_file(Some(file.path()), &[]).unwrap();
    // The environment wins over the file.
    assert_eq!(config.linkedin.client_id, "86abc");
    assert_eq!(config.schedule.timezone, chrono_tz::Europe::Paris);

    let mut bad = tempfile::NamedTempFile::new().unwrap();
    writeln!(bad, "[refresh]\nrefresh_after_days = \"50\"").unwrap();
    let err = load_file(Some(bad.path()), &[]).unwrap_err();
    assert_eq!(key_of(err), "refresh.refresh_after_days");

    let mut unknown = tempfile::NamedTempFile::new().unwrap();
    writeln!(unknown, "[linkedin]\nsecret = \"x\"").unwrap();
    let err = load_file(Some(unknown.path()), &[]).unwrap_err();
    assert_eq!(key_of(err), "linkedin.secret");
}

#[test]
fn wrong_values_name_their_key() {
    assert_refused(&[
        ("TOKENKEEPER_HTTP__BIND", "localhost", "http.bind"),
        (
            "TOKENKEEPER_LINKEDIN__TOKEN_URL",
            "ftp://x",
            "linkedin.token_url",
        ),
        (
            "TOKENKEEPER_SCHEDULE__TIMEZONE",
            "Mars/Base",
            "schedule.timezone",
        ),
        (
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "short",
            "connect.signing_key",
        ),
        ("TOKENKEEPER_LOG__FORMAT", "xml", "log.format"),
        ("TOKENKEEPER_DATABASE_URL", "mssql://x", "database_url"),
        (
            "TOKENKEEPER_CONNECT__ALLOWED_RETURN_ORIGINS",
            "https://app.example.com/path",
            "connect.allowed_return_origins",
        ),
        (
            "TOKENKEEPER_CONNECT__PURGE_INTERVAL_MS",
            "0",
            "connect.purge_interval_ms",
        ),
    ]);
}

#[test]
fn a_wrong_url_is_named_without_the_credential_it_carries() {
    for value in [
        "ftp://user:hunter2@hooks.example.com/in?token=t0k3n-v4lue",
        "https://user:hunter2@[not-a-host/in?token=t0k3n-v4lue",
        "https://hooks.example.com:99999/in?token=t0k3n-v4lue",
    ] {
        let err = load(&[("TOKENKEEPER_LINKEDIN__TOKEN_URL", value)]).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("linkedin.token_url"), "{shown}");
        for secret in ["hunter2", "t0k3n-v4lue"] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
    }
    // A value with nothing to hide is echoed, so the operator sees the typo.
    let shown = load(&[("TOKENKEEPER_LINKEDIN__TOKEN_URL", "htps//x")])
        .unwrap_err()
        .to_string();
    assert!(shown.contains("\"htps//x\""), "{shown}");
}

#[test]
fn printed_configuration_hides_secrets() {
    let config = load(&[
        ("TOKENKEEPER_API__API_KEY", "api-key-0123456789"),
        ("TOKENKEEPER_DATABASE_URL", "postgres://u:dbpass@db/tk"),
    ])
    .unwrap();
    let shown = config.redacted_toml();
    for secret in [
        "s3cr3t-value",
        "0123456789abcdef0123456789abcdef",
        "api-key-0123456789",
        "dbpass",
    ] {
        assert!(!shown.contains(secret), "{secret} printed:\n{shown}");
    }
    assert!(shown.contains("client_id = \"86abc\""));
    assert!(!format!("{config:?}").contains("s3cr3t-value"));
    assert!(!format!("{config:?}").contains("dbpass"));
}

#[test]
fn a_bad_cron_expression_names_its_key() {
    assert_refused(&[("TOKENKEEPER_SCHEDULE__CRON", "at noon", "schedule.cron")]);
}

#[test]
fn mail_settings_are_checked_and_the_password_is_never_printed() {
    assert_refused(&[
        ("TOKENKEEPER_SMTP__SECURITY", "ssl", "smtp.security"),
        ("TOKENKEEPER_SMTP__FROM", "not an address", "smtp.from"),
        ("TOKENKEEPER_SMTP__PORT", "70000", "smtp.port"),
        (
            "TOKENKEEPER_SMTP__PASSWORD",
            "only-a-password",
            "smtp.password",
        ),
        (
            "TOKENKEEPER_EMAIL__TIMEZONE",
            "Nowhere/City",
            "email.timezone",
        ),
        (
            "TOKENKEEPER_EMAIL__TEMPLATE_DIR",
            "/no/such/dir",
            "email.template_dir",
        ),
    ]);
    let config = load(&[
        ("TOKENKEEPER_SMTP__HOST", "mail.example.com"),
        ("TOKENKEEPER_SMTP__USERNAME", "mailer"),
        ("TOKENKEEPER_SMTP__PASSWORD", "smtp-pass-123"),
    ])
    .unwrap();
    assert!(!config.redacted_toml().contains("smtp-pass-123"));
    assert!(!format!("{config:?}").contains("smtp-pass-123"));
    assert_eq!(config.smtp.security, SmtpSecurity::StartTls);
}

#[test]
fn an_smtp_password_never_travels_unencrypted_to_another_machine() {
    let with = |host: &str, security: &str| {
        load(&[
            ("TOKENKEEPER_SMTP__HOST", host),
            ("TOKENKEEPER_SMTP__SECURITY", security),
            ("TOKENKEEPER_SMTP__USERNAME", "mailer"),
            ("TOKENKEEPER_SMTP__PASSWORD", "smtp-pass-123"),
        ])
    };
    let err = with("mail.example.com", "none").unwrap_err();
    assert!(err.to_string().contains("unencrypted"), "{err}");
    assert_eq!(key_of(err), "smtp.security");
    for local in ["localhost", "127.0.0.1", "::1", "[::1]"] {
        assert!(with(local, "none").is_ok(), "{local}");
    }
    assert!(with("mail.example.com", "tls").is_ok());
}

#[test]
fn http_limits_have_safe_defaults_and_checked_ranges() {
    let config = load(&[]).unwrap();
    assert_eq!(config.http.metrics_bind, None, "metrics are off by default");
    assert_eq!(config.http.body_limit_bytes, 64 * 1024);
    assert!(config.http.header_timeout < config.http.request_timeout);
    for (var, value, key) in [
        ("HEADER_TIMEOUT_SECONDS", "0", "http.header_timeout_seconds"),
        (
            "REQUEST_TIMEOUT_SECONDS",
            "601",
            "http.request_timeout_seconds",
        ),
        ("SHUTDOWN_GRACE_SECONDS", "0", "http.shutdown_grace_seconds"),
        ("MAX_CONNECTIONS", "0", "http.max_connections"),
        (
            "MAX_CONNECTIONS_PER_CLIENT",
            "0",
            "http.max_connections_per_client",
        ),
        ("BODY_LIMIT_BYTES", "10", "http.body_limit_bytes"),
        ("RATE_LIMIT_PER_MINUTE", "0", "http.rate_limit_per_minute"),
        ("RATE_LIMIT_BURST", "0", "http.rate_limit_burst"),
        ("METRICS_BIND", "localhost", "http.metrics_bind"),
        ("METRICS_BIND", "127.0.0.1:8080", "http.metrics_bind"),
    ] {
        let var = format!("TOKENKEEPER_HTTP__{var}");
        assert_refused(&[(&var, value, key)]);
    }
    let config = load(&[("TOKENKEEPER_HTTP__METRICS_BIND", "127.0.0.1:9090")]).unwrap();
    assert!(config
        .redacted_toml()
        .contains("metrics_bind = \"127.0.0.1:9090\""));
}

#[test]
fn environment_text_is_read_as_the_type_of_its_key() {
    // A value that looks like a number, a quoted string or a list stays the text it was when
    // its key holds text: guessing the type would turn a secret "007" into 7.
    let mut vars = minimal();
    vars.retain(|(k, _)| k != "TOKENKEEPER_LINKEDIN__CLIENT_ID");
    vars.extend(env(&[
        ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "007"),
        ("TOKENKEEPER_API__API_KEY", "\"[0123456789abcdef]\""),
        ("TOKENKEEPER_EMAIL__PRODUCT_NAME", "true"),
    ]));
    let config = Config::load_from(None, vars).unwrap();
    assert_eq!(config.linkedin.client_id, "007");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(config.api.api_key.as_ref().unwrap()),
        "\"[0123456789abcdef]\""
    );
    assert_eq!(config.email.product_name, "true");
}

#[test]
fn a_wrong_file_value_names_its_file() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "[refresh]\nconcurrency = \"8\"").unwrap();
    let err = load_file(Some(file.path()), &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("(in {})", file.path().display())),
        "{err}"
    );
    assert_eq!(key_of(err), "refresh.concurrency");
}

#[test]
fn a_file_section_given_as_a_plain_value_is_refused_even_when_variables_fill_it() {
    let file = file("linkedin = 5");
    // minimal() sets keys of [linkedin], which must not hide the file's mistake.
    let err = load_file(Some(file.path()), &[]).unwrap_err();
    assert!(err.to_string().contains("[section] table"), "{err}");
    assert_eq!(key_of(err), "linkedin");
}

#[test]
fn a_file_that_cannot_be_read_or_parsed_is_told_apart_from_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let err = Config::load_from(Some(&missing), minimal()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");

    let broken = file("[refresh");
    let err = load_file(Some(broken.path()), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
}

#[test]
fn a_value_out_of_range_names_the_variable_or_file_that_set_it() {
    let err = load(&[("TOKENKEEPER_REFRESH__CONCURRENCY", "0")]).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected 1 to 1024 (set by TOKENKEEPER_REFRESH__CONCURRENCY)"),
        "{err}"
    );

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "[refresh]\nconcurrency = 0").unwrap();
    let err = load_file(Some(file.path()), &[]).unwrap_err();
    assert!(
        err.to_string()
            .ends_with(&format!("(in {})", file.path().display())),
        "{err}"
    );
    assert_eq!(key_of(err), "refresh.concurrency");

    // A default that must be replaced names no origin: nobody set it.
    let err = Config::load_from(None, env(&[])).unwrap_err().to_string();
    assert!(!err.contains("(set by") && !err.contains("(in "), "{err}");
}
