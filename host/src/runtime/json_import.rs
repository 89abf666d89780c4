//! The `json` import of 0.3.1: a vendor's JSON read by the host's native parser and handed to
//! the guest as MessagePack, which the guest decodes without scanning text. On a page of 50
//! Jira issues, the guest's own `serde_json` parse was about half of the host's CPU, at about
//! 1.5 times the cost of the same parse natively.
//!
//! The transcoder streams: `serde_json` drives a visitor that writes each value as it is read,
//! with no tree in between. Maps and arrays get a 32-bit length that is patched in when they
//! end, since JSON does not say how long they are. (`rmp_serde`'s serializer, driven by
//! `serde_transcode`, buffered every map of unknown length and copied it again at each level of
//! nesting; `rmp` writes the values.)

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::call_state::CallState;
use super::contract::wit_json::json;

impl json::Host for CallState {
    async fn to_msgpack(&mut self, document: Vec<u8>) -> Result<Vec<u8>, json::JsonError> {
        let cap = self.max_response_bytes;
        if document.len() as u64 > cap {
            return Err(json::JsonError::TooLarge(cap));
        }
        to_msgpack(&document).map_err(|error| json::JsonError::Invalid(error.to_string()))
    }
}

/// Marker of a `map 32`, then its 4-byte length.
const MAP32: u8 = 0xdf;
/// Marker of an `array 32`, then its 4-byte length.
const ARRAY32: u8 = 0xdd;

/// `document`'s values as MessagePack.
pub(crate) fn to_msgpack(document: &[u8]) -> serde_json::Result<Vec<u8>> {
    // The encoding is a little smaller than the JSON it comes from (no quotes, no separators).
    let mut out = Vec::with_capacity(document.len());
    // Checked as UTF-8 once, in one pass, and parsed from `str`: from bytes, `serde_json`
    // checks each string again on its own, which was a third of this function's time on a
    // page of Jira issues (thousands of short keys and texts).
    let text = std::str::from_utf8(document).map_err(|error| {
        <serde_json::Error as serde::de::Error>::custom(format_args!(
            "not UTF-8 at byte {}",
            error.valid_up_to()
        ))
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    Value { out: &mut out }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(out)
}

/// Writes the next value it is handed into `out`.
struct Value<'o> {
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        rmp::encode::write_nil(self.out).ok();
        Ok(())
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        rmp::encode::write_bool(self.out, value).ok();
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        rmp::encode::write_uint(self.out, value).ok();
        Ok(())
    }

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        rmp::encode::write_sint(self.out, value).ok();
        Ok(())
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        rmp::encode::write_f64(self.out, value).ok();
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        // Writing to a `Vec` cannot fail; the `Result`s are `rmp`'s for `io::Write` sinks.
        rmp::encode::write_str(self.out, value).ok();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let at = open(self.out, ARRAY32);
        let mut length: u32 = 0;
        while seq
            .next_element_seed(Value {
                out: &mut *self.out,
            })?
            .is_some()
        {
            length += 1;
        }
        close(self.out, at, length);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let at = open(self.out, MAP32);
        let mut length: u32 = 0;
        while map
            .next_key_seed(Value {
                out: &mut *self.out,
            })?
            .is_some()
        {
            map.next_value_seed(Value {
                out: &mut *self.out,
            })?;
            length += 1;
        }
        close(self.out, at, length);
        Ok(())
    }
}

/// Writes `marker` and a length to patch; returns where the length is.
fn open(out: &mut Vec<u8>, marker: u8) -> usize {
    out.push(marker);
    out.extend_from_slice(&[0; 4]);
    out.len() - 4
}

/// Patches the length of the map or array opened at `at`. (A document within the host's body
/// cap cannot have 2^32 entries in one map or array.)
fn close(out: &mut [u8], at: usize, length: u32) {
    out[at..at + 4].copy_from_slice(&length.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str) -> serde_json::Value {
        rmp_serde::from_slice(&to_msgpack(json.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn every_json_value_comes_back_the_same() {
        let json = r#"{"s": "caf\u00e9 \"q\" \\ \n", "n": null, "t": true, "f": false,
            "u": 18446744073709551615, "i": -9223372036854775808, "x": 1.5e-7, "z": 0,
            "a": [1, [2, []], {}], "o": {"k": {"deep": ["v"]}}, "": "empty key"}"#;
        let expected: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(round_trip(json), expected);
        assert_eq!(round_trip("[]"), serde_json::json!([]));
        assert_eq!(round_trip("\"only\""), serde_json::json!("only"));
    }

    #[test]
    fn map_and_array_lengths_are_patched_in() {
        let packed = to_msgpack(br#"{"a": [true, null]}"#).unwrap();
        assert_eq!(
            packed,
            [
                MAP32, 0, 0, 0, 1, 0xa1, b'a', ARRAY32, 0, 0, 0, 2, 0xc3, 0xc0
            ]
        );
    }

    #[test]
    fn what_is_not_json_is_refused_with_where() {
        for bad in ["{\"a\": }", "[1, 2", "{} trailing", "", "\"\\ud800\""] {
            let error = to_msgpack(bad.as_bytes()).unwrap_err().to_string();
            assert!(error.contains("line"), "{bad}: {error}");
        }
        let error = to_msgpack(b"[\"ok\", \"\xff\"]").unwrap_err().to_string();
        assert_eq!(error, "not UTF-8 at byte 8");
        let deep = "[".repeat(200) + &"]".repeat(200);
        let error = to_msgpack(deep.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("recursion"), "{error}");
    }
}
