//! `tokenkeeper connect-link`: a signed connect link for one user, on stdout.

use crate::config::Config;
use crate::connect_link::{ConnectLinks, LinkOptions};
use crate::domain::{EmailAddress, ProviderName, UserId};
use anyhow::Context;

pub fn run(
    config: &Config,
    provider: &str,
    user_id: &str,
    email: &str,
    return_to: Option<String>,
    allow_member_change: bool,
) -> anyhow::Result<()> {
    let provider = ProviderName::parse(provider).context("--provider")?;
    let configured: Vec<ProviderName> = config.all_providers().map(|(name, _)| name).collect();
    if !configured.contains(&provider) {
        let names: Vec<&str> = configured.iter().map(ProviderName::as_str).collect();
        anyhow::bail!(
            "--provider {provider} is not configured; configured: {}",
            names.join(", ")
        );
    }
    let user_id = UserId::parse(user_id).context("--user-id")?;
    let email = EmailAddress::parse(email).context("--email")?;
    let links = ConnectLinks::new(
        config.connect.signing_key.clone(),
        config.public_base_url(),
        config.connect.allowed_return_origins.clone(),
    );
    let return_to = return_to
        .map(|r| {
            links.check_return_to(&r).with_context(|| {
                format!(
                    "--return-to {r:?} is not on an allowed origin (connect.allowed_return_origins)"
                )
            })
        })
        .transpose()?;
    let expires_at = chrono::Utc::now() + config.connect.link_ttl;
    let options = LinkOptions {
        allow_member_change,
    };
    let url = links.issue_for(
        &provider,
        &user_id,
        &email,
        return_to.as_ref(),
        expires_at,
        options,
    );
    println!("{url}");
    eprintln!("valid until {}", expires_at.to_rfc3339());
    Ok(())
}
