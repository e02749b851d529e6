//! The command line: one binary, one subcommand per job.

mod import;

use crate::accounts_table::accounts_table;
use crate::app::{shutdown_signal, Application};
use crate::config::Config;
use crate::connect_link::ConnectLinks;
use crate::domain::{EmailAddress, SystemClock, UserId};
use crate::services::Services;
use crate::store;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

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

fn connect_links(config: &Config) -> ConnectLinks {
    ConnectLinks::new(
        config.connect.signing_key.clone(),
        config.public_base_url(),
        config.connect.allowed_return_origins.clone(),
    )
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let load = || Config::load(cli.config.as_deref()).context("invalid configuration");
    match cli.command {
        Command::Serve => {
            let config = load()?;
            crate::telemetry::init(&config.log);
            let app = Application::build(config, Arc::new(SystemClock)).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            let config = load()?;
            store::migrate_database(config.database_url.expose()).await?;
            println!("migrations applied to {}", config.database_url);
            Ok(())
        }
        Command::Doctor => {
            let diagnosis = match load() {
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
        Command::Config => {
            let loaded = Config::read(cli.config.as_deref(), std::env::vars())
                .context("invalid configuration")?;
            print!("{}", loaded.annotated_toml());
            loaded.complete().context("invalid configuration")?;
            Ok(())
        }
        Command::ConnectLink {
            user_id,
            email,
            return_to,
            allow_member_change,
        } => {
            let config = load()?;
            let user_id = UserId::parse(&user_id).context("--user-id")?;
            let email = EmailAddress::parse(&email).context("--email")?;
            let links = connect_links(&config);
            let return_to = return_to
                .map(|r| {
                    links.check_return_to(&r).with_context(|| {
                        format!("--return-to {r:?} is not on an allowed origin (connect.allowed_return_origins)")
                    })
                })
                .transpose()?;
            let expires_at = chrono::Utc::now() + config.connect.link_ttl;
            let options = crate::connect_link::LinkOptions {
                allow_member_change,
            };
            let url = links.issue_with(&user_id, &email, return_to.as_ref(), expires_at, options);
            println!("{url}");
            eprintln!("valid until {}", expires_at.to_rfc3339());
            Ok(())
        }
        Command::Sweep {
            as_of,
            dry_run,
            json,
        } => {
            let config = load()?;
            crate::telemetry::init(&config.log);
            sweep(
                config,
                as_of.map(|t| t.with_timezone(&chrono::Utc)),
                dry_run,
                json,
            )
            .await
        }
        Command::Notify { command } => {
            let config = load()?;
            crate::telemetry::init(&config.log);
            notify(config, command).await
        }
        Command::Accounts { limit } => {
            let config = load()?;
            let services = Services::build(&config).await?;
            let accounts = services.store.list_accounts(0, limit).await?;
            print!("{}", accounts_table(&accounts));
            Ok(())
        }
        Command::Webhooks {
            command: WebhooksCommand::GenerateSecret,
        } => {
            println!("{}", crate::crypto::WebhookSecret::generate());
            eprintln!("set it as webhooks.secret (TOKENKEEPER_WEBHOOKS__SECRET) here and in the receiver; keep it secret");
            Ok(())
        }
        Command::Webhooks {
            command: WebhooksCommand::Test,
        } => {
            let config = load()?;
            crate::telemetry::init(&config.log);
            webhook_test(&config).await
        }
        Command::Webhooks {
            command: WebhooksCommand::SendPending,
        } => {
            let config = load()?;
            crate::telemetry::init(&config.log);
            webhooks_send_pending(&config).await
        }
        Command::Report { since, as_of, json } => {
            let config = load()?;
            let until = as_of.map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
            report(&config, since, until, json).await
        }
        Command::Import(args) => {
            let config = load()?;
            crate::telemetry::init(&config.log);
            import::run(config, args).await
        }
        #[cfg(feature = "demo")]
        Command::Demo { dir } => crate::demo::run(&dir).await,
        #[cfg(feature = "demo")]
        Command::FakeLinkedin(args) => fake_linkedin::cli::run(args).await,
        Command::Admin {
            command: AdminCommand::HashPassword,
        } => hash_admin_password(),
        Command::Keys {
            command: KeysCommand::Generate,
        } => {
            generate_key();
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate { batch },
        } => {
            let config = load()?;
            crate::telemetry::init(&config.log);
            rotate_keys(&config, batch).await
        }
    }
}

/// The entry alone goes to stdout, so `tokenkeeper keys generate >> keys.txt` keeps only it;
/// the advice goes to stderr.
fn generate_key() {
    println!("{}", *crate::crypto::new_entry(chrono::Utc::now()));
    eprintln!(
        "add this entry to encryption.keys (TOKENKEEPER_ENCRYPTION__KEYS, comma-separated) on every instance, then make it the first entry or name its id in encryption.active_key; keep it secret"
    );
}

/// The hash alone goes to stdout, so it can be captured; the password is never printed.
fn hash_admin_password() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("dashboard password: ").context("cannot read the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    let hash = crate::config::hash_password(&password)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    println!("{hash}");
    eprintln!("set it as admin.password_hash (TOKENKEEPER_ADMIN__PASSWORD_HASH) to turn the dashboard on at /admin");
    Ok(())
}

/// Opens the database without a keyring: the report reads counts and instants, never a token.
async fn report(
    config: &Config,
    since: crate::report::Lookback,
    until: chrono::DateTime<chrono::Utc>,
    json: bool,
) -> anyhow::Result<()> {
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
    if json {
        println!("{}", crate::report::render_json(&report));
    } else {
        print!("{}", crate::report::render_text(&report));
    }
    Ok(())
}

/// The summary goes to stdout; rows that do not open make the exit status non-zero, so a
/// script does not take the rotation for complete.
async fn rotate_keys(config: &Config, batch: i64) -> anyhow::Result<()> {
    let store = Services::build(config).await?.store;
    let total = u64::try_from(store.count_accounts().await?).unwrap_or(0);
    let summary = crate::key_rotation::rotate_all(&*store, batch, total)
        .await
        .context("the rotation stopped; rows before this one were rotated, run it again once the key is back in encryption.keys")?;
    let active = store.token_cipher().keyring().active_id().to_string();
    print!(
        "{}",
        crate::key_rotation::render_summary(&summary, &active, store.plaintext())
    );
    anyhow::ensure!(
        summary.failed == 0,
        "{} row(s) hold values that do not open: they were left as they are",
        summary.failed
    );
    Ok(())
}

async fn notify(config: Config, command: NotifyCommand) -> anyhow::Result<()> {
    use crate::notify::Transport;
    let transport = Transport::smtp(&config.smtp)
        .context("invalid SMTP settings")?
        .context("no SMTP server configured: set smtp.host (TOKENKEEPER_SMTP__HOST)")?;
    match command {
        NotifyCommand::Test { to } => {
            let to: lettre::message::Mailbox = to
                .parse()
                .with_context(|| format!("--to {to:?} is not an email address"))?;
            let message = lettre::Message::builder()
                .from(config.smtp.from.clone())
                .to(to.clone())
                .subject("tokenkeeper: test email")
                .body(format!(
                    "This is a test email from tokenkeeper, sent through {}:{}.\nIf you read this, reconnect emails will arrive too.\n",
                    config.smtp.host, config.smtp.port
                ))?;
            let answer = transport.send(&message).await.with_context(|| {
                format!(
                    "sending to {to} through {}:{} failed",
                    config.smtp.host, config.smtp.port
                )
            })?;
            println!("sent to {to}; the server answered: {answer}");
            Ok(())
        }
        NotifyCommand::SendPending => {
            let delivery = Services::build(&config).await?.mail(transport)?;
            let report = delivery.send_pending().await?;
            println!(
                "sent {}, retrying later {}, failed {}, cancelled {}, skipped {}",
                report.sent, report.retrying, report.failed, report.cancelled, report.skipped
            );
            Ok(())
        }
    }
}

const WEBHOOKS_OFF: &str =
    "webhooks are off: set webhooks.url (TOKENKEEPER_WEBHOOKS__URL) and webhooks.secret";

/// Prints the receiver's answer; an answer other than 2xx, or none, makes the exit status
/// non-zero.
async fn webhook_test(config: &Config) -> anyhow::Result<()> {
    let target = config.webhooks.target().context(WEBHOOKS_OFF)?;
    let sender = crate::webhooks::Sender::new(target.clone(), config.webhooks.timeout)
        .context("cannot build the HTTP client for webhooks")?;
    let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let body = crate::webhooks::ping_body(chrono::Utc::now());
    let answer = sender.post(&message_id, body).await.with_context(|| {
        format!(
            "no answer from {}",
            crate::config::redacted_url(&target.url)
        )
    })?;
    println!(
        "{} answered {} to {message_id}: {}",
        crate::config::redacted_url(&target.url),
        answer.status,
        answer.body
    );
    anyhow::ensure!(
        answer.accepted(),
        "the receiver did not accept the test event (HTTP {})",
        answer.status
    );
    Ok(())
}

async fn webhooks_send_pending(config: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(config.webhooks.enabled(), WEBHOOKS_OFF);
    let delivery = Services::build(config)
        .await?
        .webhooks()?
        .context(WEBHOOKS_OFF)?;
    let report = delivery.deliver_pending().await?;
    println!(
        "delivered {}, retrying later {}, failed {}",
        report.delivered, report.retrying, report.failed
    );
    Ok(())
}

async fn sweep(
    config: Config,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let services = Services::build(&config).await?;
    // SIGTERM or Ctrl-C interrupts the sweep cleanly: its claims are released and its run is
    // recorded `interrupted`, instead of being left for the lease to expire.
    let stop = tokio_util::sync::CancellationToken::new();
    let engine = services.engine.with_shutdown(stop.clone());
    let finished = tokio_util::sync::CancellationToken::new();
    let sweeping = async {
        let report = engine
            .sweep(crate::refresh::SweepOptions {
                as_of,
                dry_run,
                slot: None,
            })
            .await;
        finished.cancel();
        report
    };
    // Awaited beside the sweep rather than in a task of its own, so nothing is left to abort.
    let signalled = async {
        tokio::select! {
            () = shutdown_signal() => stop.cancel(),
            () = finished.cancelled() => {}
        }
    };
    let (report, ()) = tokio::join!(sweeping, signalled);
    let report = report.context("the sweep could not run")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::refresh::render_report(&report));
    }
    match report.outcome {
        crate::refresh::SweepOutcome::Failed => anyhow::bail!(
            "the sweep failed: {}",
            report.error.as_deref().unwrap_or("see the log")
        ),
        // Cron must not take an interrupted sweep for a finished one.
        crate::refresh::SweepOutcome::Interrupted => {
            anyhow::bail!("the sweep was interrupted; the next one catches up")
        }
        _ => Ok(()),
    }
}
