//! Running the fake on its own: `fake-linkedin` or `tokenkeeper fake-linkedin`.

use crate::{FakeConfig, FakeLinkedIn, ScopeSeparator};
use std::io::Write;
use std::net::SocketAddr;

#[derive(Debug, Clone, clap::Args)]
pub struct FakeArgs {
    /// Address to listen on; port 0 picks a free one (printed on the first line).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub bind: SocketAddr,
    #[arg(long, default_value = "fake-client-id")]
    pub client_id: String,
    #[arg(long, default_value = "fake-client-secret")]
    pub client_secret: String,
    /// Behave like an app with only the open products: no refresh tokens.
    #[arg(long)]
    pub non_partner: bool,
    /// Latency added to every token call, to model LinkedIn in benchmarks.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Accept refresh tokens this fake never issued (benchmarks seed their own).
    #[arg(long)]
    pub accept_unknown_refresh_tokens: bool,
    /// How scopes are joined in token responses: comma or space (LinkedIn does both).
    #[arg(long, default_value = "comma")]
    pub scope_separator: String,
}

pub async fn run(args: FakeArgs) -> anyhow::Result<()> {
    let scope_separator = match args.scope_separator.as_str() {
        "comma" => ScopeSeparator::Comma,
        "space" => ScopeSeparator::Space,
        other => anyhow::bail!("--scope-separator {other:?}: expected comma or space"),
    };
    let fake = FakeLinkedIn::start_on(
        args.bind,
        FakeConfig {
            client_id: args.client_id,
            client_secret: args.client_secret,
            partner: !args.non_partner,
            accept_unknown_refresh_tokens: args.accept_unknown_refresh_tokens,
            scope_separator,
            token_latency: std::time::Duration::from_millis(args.latency_ms),
            ..FakeConfig::default()
        },
    )
    .await?;
    let mut out = std::io::stdout();
    writeln!(out, "fake LinkedIn listening on {}", fake.base_url())?;
    out.flush()?;
    let _ = tokio::signal::ctrl_c().await;
    fake.shutdown().await;
    Ok(())
}
