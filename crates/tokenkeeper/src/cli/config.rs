//! `tokenkeeper config`: the effective configuration, printed even when incomplete, so that
//! the operator sees what is there before being told what is missing.

use crate::config::Config;
use anyhow::Context;
use std::path::Path;

pub fn run(file: Option<&Path>) -> anyhow::Result<()> {
    let loaded = Config::read(file, std::env::vars()).context("invalid configuration")?;
    print!("{}", loaded.annotated_toml());
    loaded.complete().context("invalid configuration")?;
    Ok(())
}
