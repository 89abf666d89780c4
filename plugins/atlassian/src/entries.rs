//! Entries of a vendor page read as typed records, one at a time from their own JSON: the path
//! a listing takes when the client asked for the vendor's JSON (`include-raw`), which is then
//! kept beside each record without being re-serialized.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::Product;

/// Reads one vendor object as `T`.
pub fn read_entry<'a, T: Deserialize<'a>>(
    product: Product,
    raw: &'a RawValue,
) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        ConnectorError::Permanent(format!("unexpected object from {}: {e}", product.name()))
    })
}

/// Reads each of `entries` as `T`, keeping its JSON beside it.
pub fn read_with_raw<'a, T: Deserialize<'a>>(
    product: Product,
    entries: Vec<&'a RawValue>,
) -> Result<Vec<(T, Option<&'a RawValue>)>, ConnectorError> {
    entries
        .into_iter()
        .map(|raw| Ok((read_entry(product, raw)?, Some(raw))))
        .collect()
}
