//! `tokenkeeper report`: the success report over a window, as text or JSON.

use crate::config::Config;
use crate::store;
use anyhow::Context;

/// Opens the database without a keyring: the report reads counts and instants, never a token.
pub async fn run(
    config: &Config,
    since: crate::report::Lookback,
    as_of: Option<chrono::DateTime<chrono::FixedOffset>>,
    json: bool,
) -> anyhow::Result<()> {
    let until = as_of.map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
    let database = store::BareDatabase::open(config.database_url.expose())
        .await
        .context("cannot open the database named by database_url")?;
    let unapplied = database.unapplied_migrations().await?;
    anyhow::ensure!(
        unapplied.is_empty(),
        "the database lacks migrations {unapplied:?}: run `tokenkeeper migrate` first"
    );
    let window = store::Window {
        since: until - since.duration(),
        until,
    };
    let report = crate::report::SuccessReport::compute(&database, window).await?;
    let by_provider = crate::report::ProviderFigures::compute(&database, window).await?;
    if json {
        println!("{}", crate::report::render_json(&report, &by_provider));
    } else {
        print!("{}", crate::report::render_text(&report, &by_provider));
    }
    Ok(())
}
