//! `tokenkeeper serve`: the whole service until SIGTERM or Ctrl-C.

use crate::app::{shutdown_signal, Application};
use crate::config::Config;
use crate::domain::SystemClock;
use std::sync::Arc;

pub async fn run(config: Config) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    let app = Application::build(config, Arc::new(SystemClock)).await?;
    app.run_until_stopped(shutdown_signal()).await
}
