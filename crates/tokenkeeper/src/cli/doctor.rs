//! `tokenkeeper doctor`: the diagnosis on stdout, and an exit status that says whether
//! something needs fixing. A configuration that does not load is itself a diagnosis.

use crate::config::Config;

pub async fn run(config: anyhow::Result<Config>) -> anyhow::Result<()> {
    let diagnosis = match config {
        Ok(config) => crate::doctor::examine(&config).await,
        Err(e) => crate::doctor::unloadable(e.as_ref()),
    };
    print!("{diagnosis}");
    if diagnosis.healthy() {
        Ok(())
    } else {
        Err(anyhow::anyhow!("the doctor found something to fix"))
    }
}
