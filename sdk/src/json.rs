//! JSON read by the host's native parser (the contract's optional `json` import, 0.3.1).
//!
//! [`Response::json`] parses the body inside the sandbox; on a page of 50 Jira issues that
//! parse was about half of the host's CPU. [`Response::json_from_host`] hands the body to the
//! host, which parses it natively and returns the same values as MessagePack; reading that into
//! your types skips the text scanning (strings arrive unescaped and length-prefixed). Use it
//! for list pages. Types read the same as from JSON, including borrowed `&str` and `Cow`
//! fields, with one exception: `serde_json::value::RawValue` has no MessagePack form, so read
//! pages whose JSON you keep (`include_raw`) with [`Response::json`].
//!
//! A connector that calls this imports `json`, and only such connectors do.
//!
//! ```no_run
//! # use connector_sdk::prelude::*;
//! #[derive(serde::Deserialize)]
//! struct Page<'a> { #[serde(borrow)] names: Vec<&'a str> }
//! # fn demo(response: &Response) -> Result<(), ConnectorError> {
//! let body = response.json_from_host()?;
//! let page: Page = body.read()?;
//! # Ok(()) }
//! ```

mod msgpack;

use serde::Deserialize;
use serde::de::DeserializeSeed;

use crate::ConnectorError;
use crate::http::{Response, decode_json};

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.3.1",
        inline: "package connector:sdk-json; world json-import { import connector:plugin/json@0.3.1; }",
        world: "connector:sdk-json/json-import",
        generate_all,
    });
}

use bindings::connector::plugin::json::{self as host, JsonError};

/// A response body the host has read, ready to be read into types with [`HostJson::read`].
pub struct HostJson<'r> {
    packed: Vec<u8>,
    response: &'r Response,
}

impl Response {
    /// The body read by the host's native JSON parser; read it with [`HostJson::read`].
    /// Fails as [`Response::json`] does when the body is not JSON.
    pub fn json_from_host(&self) -> Result<HostJson<'_>, ConnectorError> {
        let packed = host::to_msgpack(&self.body).map_err(|error| {
            ConnectorError::Permanent(match error {
                JsonError::Invalid(why) => {
                    format!("unexpected response from the vendor (wanted JSON): {why}")
                }
                JsonError::TooLarge(cap) => {
                    format!("the vendor's answer is larger than the host reads ({cap} bytes)")
                }
            })
        })?;
        Ok(HostJson {
            packed,
            response: self,
        })
    }
}

impl<'r> HostJson<'r> {
    /// The body as `T`, which may borrow strings from it.
    ///
    /// When `T` does not read from the host's encoding (a type that only reads JSON), the body
    /// is read as JSON instead, so the result and any error are what [`Response::json`] gives.
    pub fn read<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ConnectorError>
    where
        'r: 'a,
    {
        match msgpack::from_slice(&self.packed) {
            Ok(value) => Ok(value),
            Err(_) => decode_json(self.response),
        }
    }

    /// What `seed` reads of the body: a reader that keeps only part of it, say. As with
    /// [`HostJson::read`], a seed that does not read the host's encoding reads the JSON.
    pub fn read_seed<'a, S>(&'a self, seed: S) -> Result<S::Value, ConnectorError>
    where
        'r: 'a,
        S: DeserializeSeed<'a> + Clone,
    {
        match msgpack::from_slice_seed(&self.packed, seed.clone()) {
            Ok(value) => Ok(value),
            Err(_) => {
                let mut deserializer = serde_json::Deserializer::from_slice(&self.response.body);
                seed.deserialize(&mut deserializer)
                    .and_then(|value| deserializer.end().map(|()| value))
                    .map_err(|error| {
                        ConnectorError::Permanent(format!(
                            "unexpected response from the vendor (wanted JSON): {error}"
                        ))
                    })
            }
        }
    }
}
