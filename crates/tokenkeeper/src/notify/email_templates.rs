//! The two bodies of a reconnect email, rendered by minijinja from templates operators may
//! replace (`email.template_dir`). The HTML part is autoescaped, so a member's name (chosen by
//! the member on their network) can never add markup; the text part is written as is.
//!
//! An operator's template is code we run for every email, so it runs on a budget: fuel bounds
//! the work and memory of one render, and minijinja's own recursion limit (500 levels) stops
//! runaway macros and includes well within a tokio worker thread's 2 MiB stack (tested). Undefined variables are errors, not empty strings: a typo must
//! stop the service at start, not silently drop a sentence from every email.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use std::sync::Arc;

pub(super) const TEXT: &str = "reconnect.txt";
pub(super) const HTML: &str = "reconnect.html";

/// Enough for templates a thousand times the size of the built-in ones (which use under 50),
/// small enough that a hostile loop stops after a few megabytes and milliseconds.
const FUEL_PER_RENDER: u64 = 100_000;

/// What a template can use: every value is text.
#[derive(Debug, Clone, Copy)]
pub(super) struct EmailFields<'a> {
    pub subject: &'a str,
    pub name: &'a str,
    pub headline: &'a str,
    pub explanation: &'a str,
    pub consequence: &'a str,
    pub deadline: &'a str,
    pub link: &'a str,
    pub member_id: &'a str,
    /// The member's network as people write it ("LinkedIn", "X").
    pub network: &'a str,
    pub product: &'a str,
    pub support: &'a str,
}

impl EmailFields<'_> {
    fn context(&self) -> Value {
        minijinja::context! {
            subject => self.subject,
            name => self.name,
            headline => self.headline,
            explanation => self.explanation,
            consequence => self.consequence,
            deadline => self.deadline,
            link => self.link,
            member_id => self.member_id,
            network => self.network,
            product => self.product,
            support => self.support,
        }
    }
}

/// A template could not be compiled or rendered. Its text names the template, the line and
/// the kind of fault, never a value: the values include the member's personal link.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the email template {template} failed at line {line}: {kind}")]
pub struct RenderError {
    template: String,
    line: usize,
    kind: String,
}

impl RenderError {
    fn new(template: &str, e: &minijinja::Error) -> Self {
        Self {
            template: e.name().unwrap_or(template).to_owned(),
            line: e.line().unwrap_or(0),
            kind: e.kind().to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct EmailTemplates {
    env: Arc<Environment<'static>>,
}

impl EmailTemplates {
    /// Compiles both templates; the error carries minijinja's full message (where in the
    /// template, what is wrong), for the operator at start-up.
    pub fn compile(text: String, html: String) -> Result<Self, (&'static str, String)> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name == HTML {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(format_value);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL_PER_RENDER));
        // Errors must not carry copies of the render's values (the member's link).
        env.set_debug(false);
        // The files end with a newline, and so must the bodies.
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        for (name, source) in [(TEXT, text), (HTML, html)] {
            env.add_template_owned(name, source)
                .map_err(|e| (name, format!("is not a valid template: {e}")))?;
        }
        Ok(Self { env: Arc::new(env) })
    }

    /// Renders one body, with minijinja's full message on failure (start-up checks only).
    pub fn render_for_check(
        &self,
        template: &'static str,
        fields: &EmailFields,
    ) -> Result<String, String> {
        self.env
            .get_template(template)
            .and_then(|t| t.render(fields.context()))
            .map_err(|e| e.to_string())
    }

    /// Renders both bodies: (text, html).
    pub fn render(&self, fields: &EmailFields) -> Result<(String, String), RenderError> {
        let context = fields.context();
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&context))
                .map_err(|e| RenderError::new(name, &e))
        };
        Ok((render(TEXT)?, render(HTML)?))
    }
}

/// Escapes text the way the service's own pages do (minijinja's own escaping also turns `/`
/// into `&#x2f;`, which would change every link in the emails already sent).
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match (state.auto_escape(), value.as_str()) {
        (AutoEscape::Html, Some(text)) if !value.is_safe() => out
            .write_str(&crate::html::escape(text))
            .map_err(minijinja::Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    }
}
