//! Page cursors as clients see them: the plugin's cursor sealed by the host and bound to the
//! tenant, the connection and the listing. A forged, tampered or foreign cursor is refused
//! before the plugin runs, and vendor tokens inside cursors are not readable by clients.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, ErrorCode};
use crate::store::{Aad, KeyRing};

/// Longest cursor accepted from a client.
const MAX_CURSOR_LEN: usize = 4096;

/// Which listing a cursor belongs to.
pub struct Listing<'a> {
    pub tenant: &'a str,
    pub connection: &'a str,
    /// `containers`, `items:<container>`, `comments:<item>`, `search:<query>`.
    pub name: String,
}

impl Listing<'_> {
    fn aad(&self) -> Aad {
        Aad::new(self.tenant, self.connection, &format!("page:{}", self.name))
    }

    /// Wraps the plugin's next cursor for the client.
    pub fn wrap(
        &self,
        keys: &KeyRing,
        plugin_cursor: Option<String>,
    ) -> Result<Option<String>, ApiError> {
        let Some(cursor) = plugin_cursor else {
            return Ok(None);
        };
        let sealed = keys.seal(&self.aad(), cursor.as_bytes()).map_err(|e| {
            tracing::error!(error = %e, "could not seal a page cursor");
            ApiError::new(ErrorCode::InternalError, "could not issue a page cursor")
        })?;
        Ok(Some(URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Unwraps a client's cursor into the plugin's.
    pub fn unwrap(
        &self,
        keys: &KeyRing,
        client_cursor: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let Some(text) = client_cursor.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        let invalid = || {
            ApiError::new(
                ErrorCode::Validation,
                "`cursor` is not one this listing issued",
            )
        };
        if text.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let sealed = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let plain = keys.open(&self.aad(), &sealed).map_err(|_| invalid())?;
        String::from_utf8(plain.to_vec())
            .map(Some)
            .map_err(|_| invalid())
    }
}
