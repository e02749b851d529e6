use super::*;
use std::io::Write;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn minimal() -> Vec<(String, String)> {
    env(&[
        ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "86abc"),
        ("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "s3cr3t-value"),
        (
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "0123456789abcdef0123456789abcdef",
        ),
    ])
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
    let mut vars = minimal();
    vars.extend(env(&[
        ("TOKENKEEPER_REFRESH__REFRESH_AFTER_DAYS", "40"),
        ("TOKENKEEPER_DATABASE_URL", "postgres://u@db/tk"),
        (
            "TOKENKEEPER_CONNECT__ALLOWED_RETURN_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        ),
        ("TOKENKEEPER_CONFIG", "ignored: read by the command line"),
    ]));
    let config = Config::load_from(None, vars).unwrap();
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
    let mut vars = minimal();
    vars.extend(env(&[("TOKENKEEPER_REFRESH__REFRESH_AFTER_DAYS", "fifty")]));
    let err = Config::load_from(None, vars).unwrap_err();
    assert!(
        err.to_string().contains("refresh.refresh_after_days"),
        "{err}"
    );
}

#[test]
fn an_unknown_variable_is_refused() {
    let mut vars = minimal();
    vars.extend(env(&[("TOKENKEEPER_LINKEDIN__CLIENTID", "x")]));
    let err = Config::load_from(None, vars).unwrap_err();
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
    let config = Config::load_from(Some(file.path()), minimal()).unwrap();
    // The environment wins over the file.
    assert_eq!(config.linkedin.client_id, "86abc");
    assert_eq!(config.schedule.timezone, chrono_tz::Europe::Paris);

    let mut bad = tempfile::NamedTempFile::new().unwrap();
    writeln!(bad, "[refresh]\nrefresh_after_days = \"50\"").unwrap();
    let err = Config::load_from(Some(bad.path()), minimal()).unwrap_err();
    assert_eq!(key_of(err), "refresh.refresh_after_days");

    let mut unknown = tempfile::NamedTempFile::new().unwrap();
    writeln!(unknown, "[linkedin]\nsecret = \"x\"").unwrap();
    let err = Config::load_from(Some(unknown.path()), minimal()).unwrap_err();
    assert_eq!(key_of(err), "linkedin.secret");
}

#[test]
fn wrong_values_name_their_key() {
    for (var, value, key) in [
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
    ] {
        let mut vars = minimal();
        vars.push((var.to_string(), value.to_string()));
        let err = Config::load_from(None, vars).unwrap_err();
        assert_eq!(key_of(err), key, "{var}={value}");
    }
}

#[test]
fn a_wrong_url_is_named_without_the_credential_it_carries() {
    for value in [
        "ftp://user:hunter2@hooks.example.com/in?token=t0k3n-v4lue",
        "https://user:hunter2@[not-a-host/in?token=t0k3n-v4lue",
        "https://hooks.example.com:99999/in?token=t0k3n-v4lue",
    ] {
        let mut vars = minimal();
        vars.push(("TOKENKEEPER_LINKEDIN__TOKEN_URL".into(), value.into()));
        let err = Config::load_from(None, vars).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("linkedin.token_url"), "{shown}");
        for secret in ["hunter2", "t0k3n-v4lue"] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
    }
    // A value with nothing to hide is echoed, so the operator sees the typo.
    let mut vars = minimal();
    vars.push(("TOKENKEEPER_LINKEDIN__TOKEN_URL".into(), "htps//x".into()));
    let shown = Config::load_from(None, vars).unwrap_err().to_string();
    assert!(shown.contains("\"htps//x\""), "{shown}");
}

#[test]
fn printed_configuration_hides_secrets() {
    let mut vars = minimal();
    vars.extend(env(&[
        ("TOKENKEEPER_API__API_KEY", "api-key-0123456789"),
        ("TOKENKEEPER_DATABASE_URL", "postgres://u:dbpass@db/tk"),
    ]));
    let config = Config::load_from(None, vars).unwrap();
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
    let mut vars = minimal();
    vars.push(("TOKENKEEPER_SCHEDULE__CRON".into(), "at noon".into()));
    assert_eq!(
        key_of(Config::load_from(None, vars).unwrap_err()),
        "schedule.cron"
    );
}

#[test]
fn mail_settings_are_checked_and_the_password_is_never_printed() {
    for (var, value, key) in [
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
    ] {
        let mut vars = minimal();
        vars.push((var.to_string(), value.to_string()));
        let err = Config::load_from(None, vars).unwrap_err();
        assert_eq!(key_of(err), key, "{var}={value}");
    }
    let mut vars = minimal();
    vars.extend(env(&[
        ("TOKENKEEPER_SMTP__HOST", "mail.example.com"),
        ("TOKENKEEPER_SMTP__USERNAME", "mailer"),
        ("TOKENKEEPER_SMTP__PASSWORD", "smtp-pass-123"),
    ]));
    let config = Config::load_from(None, vars).unwrap();
    assert!(!config.redacted_toml().contains("smtp-pass-123"));
    assert!(!format!("{config:?}").contains("smtp-pass-123"));
    assert_eq!(config.smtp.security, SmtpSecurity::StartTls);
}

#[test]
fn an_smtp_password_never_travels_unencrypted_to_another_machine() {
    let with = |host: &str, security: &str| {
        let mut vars = minimal();
        vars.extend(env(&[
            ("TOKENKEEPER_SMTP__HOST", host),
            ("TOKENKEEPER_SMTP__SECURITY", security),
            ("TOKENKEEPER_SMTP__USERNAME", "mailer"),
            ("TOKENKEEPER_SMTP__PASSWORD", "smtp-pass-123"),
        ]));
        Config::load_from(None, vars)
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
    let config = Config::load_from(None, minimal()).unwrap();
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
        let mut vars = minimal();
        vars.push((format!("TOKENKEEPER_HTTP__{var}"), value.to_owned()));
        let err = Config::load_from(None, vars).unwrap_err();
        assert_eq!(key_of(err), key, "{var}={value}");
    }
    let mut vars = minimal();
    vars.push((
        "TOKENKEEPER_HTTP__METRICS_BIND".into(),
        "127.0.0.1:9090".into(),
    ));
    let config = Config::load_from(None, vars).unwrap();
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
    let err = Config::load_from(Some(file.path()), minimal()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("(in {})", file.path().display())),
        "{err}"
    );
    assert_eq!(key_of(err), "refresh.concurrency");
}

#[test]
fn a_file_section_given_as_a_plain_value_is_refused_even_when_variables_fill_it() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "linkedin = 5").unwrap();
    // minimal() sets keys of [linkedin], which must not hide the file's mistake.
    let err = Config::load_from(Some(file.path()), minimal()).unwrap_err();
    assert!(err.to_string().contains("[section] table"), "{err}");
    assert_eq!(key_of(err), "linkedin");
}

#[test]
fn a_file_that_cannot_be_read_or_parsed_is_told_apart_from_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let err = Config::load_from(Some(&missing), minimal()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");

    let mut broken = tempfile::NamedTempFile::new().unwrap();
    writeln!(broken, "[refresh").unwrap();
    let err = Config::load_from(Some(broken.path()), minimal()).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
}

#[test]
fn a_value_out_of_range_names_the_variable_or_file_that_set_it() {
    let mut vars = minimal();
    vars.push(("TOKENKEEPER_REFRESH__CONCURRENCY".into(), "0".into()));
    let err = Config::load_from(None, vars).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected 1 to 1024 (set by TOKENKEEPER_REFRESH__CONCURRENCY)"),
        "{err}"
    );

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "[refresh]\nconcurrency = 0").unwrap();
    let err = Config::load_from(Some(file.path()), minimal()).unwrap_err();
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
