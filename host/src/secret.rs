//! A secret read from the configuration (a token, a key, a client secret): deserialised like
//! a string, never shown by `Debug`, so a logged configuration holds no secret.

use serde::{Deserialize, Serialize};

/// A secret config value: deserialised like a string, never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ConfigSecret(String);

impl ConfigSecret {
    /// The secret `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for where it is used: never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ConfigSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}
