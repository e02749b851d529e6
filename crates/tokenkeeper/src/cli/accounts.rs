//! `tokenkeeper accounts`: the stored accounts as a table.

use crate::accounts_table::accounts_table;
use crate::config::Config;
use crate::services::Services;

pub async fn run(config: &Config, limit: i64) -> anyhow::Result<()> {
    let services = Services::build(config).await?;
    let accounts = services.store.list_accounts(0, limit).await?;
    print!("{}", accounts_table(&accounts));
    Ok(())
}
