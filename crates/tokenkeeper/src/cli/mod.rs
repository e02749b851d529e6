//! The command line: one binary, one subcommand per job. This file declares the commands
//! (their flags and help texts, which `tokenkeeper --help` prints) and sends each to its own
//! file; `demo` lives in `demo/` and `fake-linkedin` in its own crate.

mod accounts;
mod admin;
mod config;
mod connect_link;
mod doctor;
mod import;
mod keys;
mod migrate;
mod notify;
mod report;
mod serve;
mod sweep;
mod webhooks;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "tokenkeeper",
    version,
    about = "Keeps the LinkedIn connections of your users alive"
)]
pub struct Cli {
    /// A TOML configuration file; TOKENKEEPER_* environment variables override it.
    #[arg(long, global = true, env = "TOKENKEEPER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: connect flow, API, health and metrics, scheduled sweeps, email delivery.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Check the configuration, the database, SMTP, the LinkedIn credentials and the callback
    /// URL from this machine, and say what to fix; exits non-zero when a check fails.
    Doctor,
    /// Print the effective configuration, secrets redacted: every key with its value and where
    /// it comes from (default, file or variable); exits non-zero naming every required key that
    /// is missing.
    Config,
    /// Print a signed connect link for one user of the host app.
    ConnectLink {
        #[arg(long)]
        user_id: String,
        /// Where reconnect emails for this user go.
        #[arg(long)]
        email: String,
        /// Where to send the browser after connecting; must be on an allowed origin.
        #[arg(long)]
        return_to: Option<String>,
        /// Let this link connect a different LinkedIn member than the one already linked to
        /// the user (refused otherwise).
        #[arg(long)]
        allow_member_change: bool,
        /// The provider to connect, as configured (`[providers.NAME]`).
        #[arg(long, default_value = "linkedin")]
        provider: String,
    },
    /// Refresh every account that is due now (what the scheduler runs at each slot).
    Sweep {
        /// Take this RFC 3339 instant as "now" for the whole run.
        #[arg(long, value_name = "TIME")]
        as_of: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// List what would be refreshed and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reconnect emails: deliver what is due, or check the SMTP settings.
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Events to the host app: send a signed test event, deliver what is due, make a secret.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// Bring in tokens your application already holds, from a CSV or JSON Lines file.
    Import(import::ImportArgs),
    /// Whether tokenkeeper does its job: accounts kept alive without their member, reconnect
    /// episodes, the email funnel, accounts lost. Reads the database; needs no encryption key.
    Report {
        /// How far back to look: a whole number of days or hours (30d, 12h).
        #[arg(long, default_value = "30d", allow_hyphen_values = true)]
        since: crate::report::Lookback,
        /// End the window at this RFC 3339 instant instead of now.
        #[arg(long, value_name = "TIME")]
        as_of: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the stored accounts.
    Accounts {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Run the whole story locally against the built-in fake LinkedIn. Needs no configuration.
    #[cfg(feature = "demo")]
    Demo {
        /// Folder for the demo's database (recreated on each run).
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
    },
    /// Run the fake LinkedIn, to build against it without partner approval.
    #[cfg(feature = "demo")]
    FakeLinkedin(fake_linkedin::cli::FakeArgs),
    /// The operators' dashboard at /admin.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The keys that encrypt tokens at rest (`encryption.keys`).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new KID:BASE64KEY entry for encryption.keys. Needs no configuration.
    Generate,
    /// Re-encrypt every stored token not under the active key (plaintext from versions
    /// before encryption included), online, while `serve` runs. Can be stopped and run again.
    Rotate {
        /// Rows read and rewritten per round trip.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Read a password from stdin (without echo on a terminal) and print its argon2 hash for
    /// admin.password_hash. Needs no configuration.
    HashPassword,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Deliver every email that is due now, once (for cron users; `serve` does it by itself).
    SendPending,
    /// Send a test email to check the SMTP settings.
    Test {
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Send a signed `webhook.test` event to webhooks.url and print the receiver's answer;
    /// exits non-zero unless it answers 2xx.
    Test,
    /// Deliver every event that is due now, once (for cron users; `serve` does it by itself).
    SendPending,
    /// Print a new signing secret for webhooks.secret. Needs no configuration.
    GenerateSecret,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let load =
        || crate::config::Config::load(cli.config.as_deref()).context("invalid configuration");
    match cli.command {
        Command::Serve => serve::run(load()?).await,
        Command::Migrate => migrate::run(load()?).await,
        Command::Doctor => doctor::run(load()).await,
        Command::Config => config::run(cli.config.as_deref()),
        Command::ConnectLink {
            user_id,
            email,
            return_to,
            allow_member_change,
            provider,
        } => connect_link::run(
            &load()?,
            &provider,
            &user_id,
            &email,
            return_to,
            allow_member_change,
        ),
        Command::Sweep {
            as_of,
            dry_run,
            json,
        } => sweep::run(load()?, as_of, dry_run, json).await,
        Command::Notify { command } => notify::run(load()?, command).await,
        Command::Accounts { limit } => accounts::run(&load()?, limit).await,
        Command::Webhooks {
            command: WebhooksCommand::GenerateSecret,
        } => {
            webhooks::generate_secret();
            Ok(())
        }
        Command::Webhooks {
            command: WebhooksCommand::Test,
        } => webhooks::test(&load()?).await,
        Command::Webhooks {
            command: WebhooksCommand::SendPending,
        } => webhooks::send_pending(&load()?).await,
        Command::Report { since, as_of, json } => report::run(&load()?, since, as_of, json).await,
        Command::Import(args) => import::run(load()?, args).await,
        #[cfg(feature = "demo")]
        Command::Demo { dir } => crate::demo::run(&dir).await,
        #[cfg(feature = "demo")]
        Command::FakeLinkedin(args) => fake_linkedin::cli::run(args).await,
        Command::Admin {
            command: AdminCommand::HashPassword,
        } => admin::hash_password(),
        Command::Keys {
            command: KeysCommand::Generate,
        } => {
            keys::generate();
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate { batch },
        } => keys::rotate(&load()?, batch).await,
    }
}
