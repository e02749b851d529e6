//! The few HTML pages a user may see. Plain, readable, and every interpolated value escaped.

use crate::html::escape;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;\
         padding:0 1rem;line-height:1.5;color:#1d2226}}h1{{font-size:1.4rem}}</style></head>\
         <body><h1>{title}</h1><p>{message}</p></body></html>\n",
        title = escape(title),
        message = escape(message),
    );
    (status, Html(body)).into_response()
}
