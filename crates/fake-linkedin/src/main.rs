use clap::Parser;

/// A fake of LinkedIn's OAuth endpoints (or, with --network, X's, Google's, TikTok's,
/// Instagram's, Threads' or Facebook's), to develop and test without partner approval.
#[derive(Parser)]
#[command(name = "fake-linkedin", version)]
struct Cli {
    #[command(flatten)]
    args: fake_linkedin::cli::FakeArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    fake_linkedin::cli::run(Cli::parse().args).await
}
