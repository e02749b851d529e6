//! deploy/tokenkeeper.env.example is a configuration the service accepts once its secrets are
//! filled in, and it names no key the service does not know.

use crate::service_tests;
use std::path::PathBuf;
use tokenkeeper::config::Config;

service_tests!(the_example_environment_file_loads_once_filled_in);

async fn the_example_environment_file_loads_once_filled_in() {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/tokenkeeper.env.example");
    let text = std::fs::read_to_string(&file).unwrap();
    let filled = |key: &str, value: &str| -> String {
        match (key, value) {
            ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "") => "86example".into(),
            ("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "") => "example-client-secret".into(),
            ("TOKENKEEPER_CONNECT__SIGNING_KEY", "") => "0123456789abcdef".repeat(4),
            ("TOKENKEEPER_API__API_KEY", "") => "0123456789abcdef0123".into(),
            ("TOKENKEEPER_ENCRYPTION__KEYS", "") => crate::support::ENCRYPTION_KEYS.into(),
            _ => value.into(),
        }
    };
    let vars: Vec<(String, String)> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("KEY=VALUE");
            assert!(key.starts_with("TOKENKEEPER_"), "{key}");
            (key.to_owned(), filled(key, value))
        })
        .collect();
    let config = Config::load_from(None, vars).unwrap_or_else(|e| panic!("{e}"));
    // The service refuses to start without a key: the example must name the setting.
    config.encryption.cipher().unwrap_or_else(|e| panic!("{e}"));
    assert!(config
        .database_url
        .expose()
        .starts_with("sqlite:///var/lib/tokenkeeper/"));
    assert_eq!(config.smtp.host, "smtp.example.com");
    assert!(config.http.metrics_bind.is_some());
}
