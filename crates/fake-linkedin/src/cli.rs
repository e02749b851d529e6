//! Running the fake on its own: `fake-linkedin` or `tokenkeeper fake-linkedin`, LinkedIn by
//! default or another network with `--network`.

use crate::{
    FakeConfig, FakeLinkedIn, FakeNetwork, FakeNetworkConfig, NetworkKind, ScopeSeparator,
};
use std::io::Write;
use std::net::SocketAddr;

#[derive(Debug, Clone, clap::Args)]
pub struct FakeArgs {
    /// The network to fake: linkedin, x, google, tiktok, instagram, threads or facebook.
    #[arg(long, default_value = "linkedin")]
    pub network: String,
    /// Address to listen on; port 0 picks a free one (printed on the first line).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub bind: SocketAddr,
    #[arg(long, default_value = "fake-client-id")]
    pub client_id: String,
    #[arg(long, default_value = "fake-client-secret")]
    pub client_secret: String,
    /// LinkedIn: behave like an app with only the open products: no refresh tokens.
    #[arg(long)]
    pub non_partner: bool,
    /// Latency added to every token call, to model the network in benchmarks.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Accept refresh tokens this fake never issued (benchmarks seed their own); at
    /// Instagram, Threads and Facebook, which have none, unknown access tokens to renew.
    #[arg(long)]
    pub accept_unknown_refresh_tokens: bool,
    /// LinkedIn: how scopes are joined in token responses, comma or space (it does both).
    #[arg(long, default_value = "comma")]
    pub scope_separator: String,
}

pub async fn run(args: FakeArgs) -> anyhow::Result<()> {
    if args.network != "linkedin" {
        return run_network(args).await;
    }
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

async fn run_network(args: FakeArgs) -> anyhow::Result<()> {
    let Some(kind) = NetworkKind::from_name(&args.network) else {
        anyhow::bail!(
            "--network {:?}: expected linkedin, x, google, tiktok, instagram, threads or facebook",
            args.network
        );
    };
    if args.non_partner || args.scope_separator != "comma" {
        anyhow::bail!("--non-partner and --scope-separator are LinkedIn's only");
    }
    let config = FakeNetworkConfig {
        client_id: args.client_id,
        client_secret: args.client_secret,
        accept_unknown_tokens: args.accept_unknown_refresh_tokens,
        token_latency: std::time::Duration::from_millis(args.latency_ms),
        ..FakeNetworkConfig::default()
    };
    let fake = FakeNetwork::start_on(kind, args.bind, config).await?;
    let mut out = std::io::stdout();
    writeln!(out, "fake {} listening on {}", kind.name(), fake.base_url())?;
    out.flush()?;
    let _ = tokio::signal::ctrl_c().await;
    fake.shutdown().await;
    Ok(())
}
