//! `tokenkeeper import`: the file (or stdin), a progress bar on a terminal, problems as
//! `line N: ...` on stderr, the summary on stdout (or as JSON), and an exit code that says
//! whether any row failed.

use crate::config::Config;
use crate::import::{rows, Format, ImportOptions, ImportReport, RowError};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Read};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// csv (with a header) or jsonl; guessed from the file name when absent (.jsonl, .ndjson).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Check every row and ask its provider where needed, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Never ask a provider: every row must then give token_expires_at and member_id.
    #[arg(long)]
    pub no_introspect: bool,
    /// Print the summary and every row's error as JSON.
    #[arg(long)]
    pub json: bool,
    /// The file to import, or - for standard input.
    #[arg(value_name = "FILE|-")]
    pub file: String,
}

pub async fn run(config: Config, args: ImportArgs) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    // Imported tokens are sealed like every other: without a key nothing is read or written,
    // and the file is not even opened.
    config.encryption.cipher()?;
    let format = args.format.unwrap_or_else(|| Format::of_path(&args.file));
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let (input, bar): (Box<dyn Read + Send>, ProgressBar) = if args.file == "-" {
        let bar = progress(show_progress, None);
        (Box::new(bar.wrap_read(std::io::stdin())), bar)
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file))?;
        let length = file.metadata().map(|m| m.len()).ok();
        let bar = progress(show_progress, length);
        (Box::new(bar.wrap_read(file)), bar)
    };
    let rows = rows(input, format).with_context(|| format!("cannot import {}", args.file))?;

    let importer = crate::services::Services::build(&config).await?.importer;
    let options = ImportOptions {
        introspect: !args.no_introspect,
        dry_run: args.dry_run,
    };
    let json = args.json;
    let mut on_error = |error: &RowError| {
        if !json {
            bar.suspend(|| eprintln!("{error}"));
        }
    };
    let report = importer.import_rows(rows, options, &mut on_error).await;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", summary(&report));
    }
    if let Some(stopped) = &report.stopped {
        anyhow::bail!("the import stopped: {stopped}");
    }
    if report.failed > 0 {
        anyhow::bail!(
            "{} of {} rows failed; the others were imported",
            report.failed,
            report.rows
        );
    }
    Ok(())
}

fn progress(shown: bool, length: Option<u64>) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    match length {
        Some(length) => ProgressBar::new(length).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta})")
                .expect("a valid template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read {elapsed}")
                .expect("a valid template"),
        ),
    }
}

pub fn summary(report: &ImportReport) -> String {
    let verb = if report.dry_run {
        "would import"
    } else {
        "imported"
    };
    let mut text = format!(
        "{verb} {} rows: {} created, {} replaced, {} unchanged, {} kept newer tokens, {} failed",
        report.rows,
        report.created,
        report.replaced,
        report.unchanged,
        report.newer_kept,
        report.failed
    );
    if report.needs_reconnect > 0 {
        text.push_str(&format!(
            "; {} members must reconnect (their provider no longer accepts their tokens)",
            report.needs_reconnect
        ));
    }
    if report.dry_run {
        text.push_str(" (dry run: nothing written)");
    }
    text
}
