//! `tokenkeeper doctor`: checks what `serve` needs from the world outside the process, from
//! the machine it runs on, and says what to fix. Each check is one line: the configuration,
//! the database and its migrations, the stored tokens (each opened as `serve` opens it), the
//! SMTP server (connect and hello, STARTTLS and login when configured), LinkedIn's opinion of
//! our client credentials, and whether the OAuth callback URL reaches this service. Nothing
//! is changed anywhere: the LinkedIn check sends a refresh grant with a refresh token that
//! cannot exist, which LinkedIn refuses either as a bad client (our credentials are wrong) or
//! as a bad grant (they are right).

mod callback;
mod configuration;
mod database;
mod linkedin;
mod providers;
mod smtp;
mod tokens;

use crate::config::Config;
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// How long the doctor waits for a server that does not answer (the database, the callback
/// URL); the SMTP and LinkedIn checks use their configured timeouts.
pub const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Works, but probably not as intended.
    Warn,
    /// `serve` cannot do this part of its work: fix it.
    Fail,
}

/// One check's finding: what was checked and, unless all is well, what to do.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `database`, `linkedin`, or `provider NAME` for each other provider.
    pub check: Cow<'static, str>,
    pub level: Level,
    pub message: String,
}

impl Finding {
    pub fn ok(check: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(check, Level::Ok, message)
    }

    pub fn warn(check: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(check, Level::Warn, message)
    }

    pub fn fail(check: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(check, Level::Fail, message)
    }

    fn new(check: impl Into<Cow<'static, str>>, level: Level, message: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            level,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        write!(f, "{level:<5} {:<14} {}", self.check, self.message)
    }
}

#[derive(Debug)]
pub struct Diagnosis {
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    pub fn healthy(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::Fail)
    }

    pub fn finding(&self, check: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check.as_ref() == check)
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        let failed = self
            .findings
            .iter()
            .filter(|f| f.level == Level::Fail)
            .count();
        match failed {
            0 => writeln!(f, "all checks passed"),
            1 => writeln!(f, "1 check failed"),
            n => writeln!(f, "{n} checks failed"),
        }
    }
}

/// Runs every check on a configuration that loaded. The checks are independent: each runs
/// whatever the others found, so one run lists everything to fix.
pub async fn examine(config: &Config) -> Diagnosis {
    let mut findings = configuration::examine(config);
    // The tokens are read once the database is known to answer: a server that is down would
    // otherwise cost a second wait for the same news.
    let database_then_tokens = async {
        let database = database::examine(config).await;
        let tokens = tokens::examine(config, database.level != Level::Fail).await;
        (database, tokens)
    };
    let ((database, tokens), smtp, linkedin, callback, providers) = tokio::join!(
        database_then_tokens,
        smtp::examine(config),
        linkedin::examine(config),
        callback::examine(config),
        providers::examine(config),
    );
    findings.extend([database, tokens, smtp, linkedin, callback]);
    findings.extend(providers);
    Diagnosis { findings }
}

/// What the doctor says when the configuration itself does not load: the other checks need it.
pub fn unloadable(error: &(dyn std::error::Error + 'static)) -> Diagnosis {
    Diagnosis {
        findings: vec![Finding::fail(
            "configuration",
            format!(
                "{}; the other checks need a configuration that loads",
                crate::telemetry::error_chain(error)
            ),
        )],
    }
}
