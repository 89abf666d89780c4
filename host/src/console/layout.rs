//! The page frame: title, navigation, the signed-in tenant, and errors in the envelope's words.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::ConsoleUser;
use crate::error::ApiError;

/// A whole page; signed in, the tenant's navigation heads it.
pub fn page(title: &str, user: Option<&ConsoleUser>, body: Markup) -> Markup {
    let navigation = html! {
        @if let Some(user) = user {
            nav aria-label="Main" {
                a href="/console/connections" { "Connections" }
                a href="/console/connectors" { "Connect an account" }
                a href="/console/webhooks" { "Webhooks" }
                a href="/console/tools" { "Tools" }
                a href="/console/mcp-clients" { "Authorized clients" }
                a href="/console/usage" { "Usage" }
                a href="/console/audit" { "Audit log" }
            }
            span { "Tenant " strong { (user.tenant) } }
            form class="inline" method="post" action="/console/sign-out" {
                input type="hidden" name="csrf" value=(user.csrf);
                button class="secondary" type="submit" { "Sign out" }
            }
        }
    };
    frame(title, navigation, body)
}

/// The document: `navigation` in the header next to the home link, `body` in `main`.
pub fn frame(title: &str, navigation: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · connector-host" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header {
                    a class="brand" href="/console" { "connector-host" }
                    (navigation)
                }
                main id="main" { (body) }
            }
        }
    }
}

/// An error as a page with the API's status and message.
pub struct ConsoleError {
    pub status: StatusCode,
    pub message: String,
    /// Boxed: the signed-in frame is rare next to the message, and keeps results small.
    pub user: Option<Box<ConsoleUser>>,
}

impl ConsoleError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            user: None,
        }
    }

    /// The same error, shown inside the signed-in frame.
    pub fn for_user(mut self, user: &ConsoleUser) -> Self {
        self.user = Some(Box::new(user.clone()));
        self
    }
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        Self::new(error.http_status(), error.message)
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let body = page(
            "Error",
            self.user.as_deref(),
            html! {
                h1 { "Something went wrong" }
                p class="error" role="alert" { (self.message) }
                p { a href="/console/connections" { "Back to connections" } }
            },
        );
        (self.status, body).into_response()
    }
}

/// An error message above a form, when there is one.
pub fn alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p class="error" role="alert" { (message) }
        }
    }
}
