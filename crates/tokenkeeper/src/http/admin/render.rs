//! The dashboard's templates, compiled once; HTML autoescape is on for every one of them.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;

pub struct Templates(Environment<'static>);

macro_rules! templates {
    ($env:ident, $($name:literal),+ $(,)?) => {
        $($env
            .add_template($name, include_str!(concat!("templates/", $name)))
            .expect("the built-in dashboard templates compile");)+
    };
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        templates!(
            env,
            "base.html",
            "login.html",
            "overview.html",
            "runs_table.html",
            "runs.html",
            "accounts.html",
            "account.html",
            "confirm_delete.html",
            "outbox.html",
            "message.html",
        );
        Self(env)
    }

    pub fn page(&self, status: StatusCode, name: &str, context: minijinja::Value) -> Response {
        match self
            .0
            .get_template(name)
            .and_then(|template| template.render(context))
        {
            Ok(body) => (status, Html(body)).into_response(),
            Err(error) => {
                tracing::error!(template = name, %error, "a dashboard page cannot be rendered");
                super::super::pages::page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page cannot be shown; the log says why.",
                )
            }
        }
    }
}

/// A storage failure on a page: logged with its cause chain, answered with a plain 500.
pub struct PageError(pub anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for PageError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = %format!("{:#}", self.0), "a dashboard page failed");
        super::super::pages::page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The page cannot be shown; the log says why.",
        )
    }
}

/// A serializable value as a template reads it.
pub fn view<T: serde::Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}
