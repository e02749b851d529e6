//! `tokenkeeper migrate`: the schema brought up to date, and nothing else.

use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    crate::store::migrate_database(config.database_url.expose()).await?;
    println!("migrations applied to {}", config.database_url);
    Ok(())
}
