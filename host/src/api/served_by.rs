//! Tells clients which plugin version answered: `X-Plugin-Version: <id>@<version>` and
//! `X-Plugin-Sha256`, from the [`ServedBy`] the call path returns with every answer, so a client
//! (or a test) can see responses move to a newly loaded version.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::connection::ServedBy;

pub static X_PLUGIN_VERSION: HeaderName = HeaderName::from_static("x-plugin-version");
pub static X_PLUGIN_SHA256: HeaderName = HeaderName::from_static("x-plugin-sha256");

/// Writes the two headers for `served_by`.
pub fn annotate(headers: &mut HeaderMap, served_by: &ServedBy) {
    if let Ok(value) = HeaderValue::from_str(&served_by.version) {
        headers.insert(X_PLUGIN_VERSION.clone(), value);
    }
    if let Ok(value) = HeaderValue::from_str(&served_by.sha256) {
        headers.insert(X_PLUGIN_SHA256.clone(), value);
    }
}
