//! Tells clients which plugin version answered: `X-Plugin-Version: <id>@<version>` and
//! `X-Plugin-Sha256`, set from the exact version a call ran on, so a client (or a test) can see
//! responses move to a newly loaded version.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::runtime::Plugin;

pub static X_PLUGIN_VERSION: HeaderName = HeaderName::from_static("x-plugin-version");
pub static X_PLUGIN_SHA256: HeaderName = HeaderName::from_static("x-plugin-sha256");

/// (id@version, sha256) of the last plugin version a call of this request ran on.
type Served = Arc<Mutex<Option<(String, String)>>>;

tokio::task_local! {
    static SERVED_BY: Served;
}

/// Records that the request's call runs on `plugin` (no-op outside a request).
pub fn note(plugin: &Plugin) {
    let _ = SERVED_BY.try_with(|served| {
        if let Ok(mut served) = served.lock() {
            *served = Some((
                format!("{}@{}", plugin.id(), plugin.manifest.version),
                plugin.sha256.clone(),
            ));
        }
    });
}

/// Serves the request in a scope that collects the version, then sets the headers.
pub async fn annotate(request: Request, next: Next) -> Response {
    let served = Served::default();
    let mut response = SERVED_BY.scope(served.clone(), next.run(request)).await;
    let noted = served.lock().ok().and_then(|mut served| served.take());
    if let Some((version, sha256)) = noted {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&version) {
            headers.insert(X_PLUGIN_VERSION.clone(), value);
        }
        if let Ok(value) = HeaderValue::from_str(&sha256) {
            headers.insert(X_PLUGIN_SHA256.clone(), value);
        }
    }
    response
}
