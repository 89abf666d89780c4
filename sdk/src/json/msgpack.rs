//! Reads the MessagePack the host's `json` import writes into serde types, borrowing strings
//! from it. `rmp_serde` read it too, but checked every string as UTF-8 on its own, which on a
//! page of Jira issues cost about as much as the text scanning the import saves (thousands of
//! short keys and texts); the host writes only strings it parsed from checked UTF-8, so this
//! reader takes them as they are. It reads what the host writes (and the rest of MessagePack's
//! maps, arrays, strings and numbers); `bin` and `ext` values are refused.

use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, Visitor};

/// Why a value was not read.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

/// `T` read from `input`, which must hold exactly one value.
pub fn from_slice<'de, T: de::Deserialize<'de>>(input: &'de [u8]) -> Result<T, Error> {
    let mut reader = Reader { input };
    let value = T::deserialize(&mut reader)?;
    if reader.input.is_empty() {
        Ok(value)
    } else {
        Err(Error("bytes after the value".into()))
    }
}

/// What `seed` reads from `input`, which must hold exactly one value.
pub fn from_slice_seed<'de, S: DeserializeSeed<'de>>(
    input: &'de [u8],
    seed: S,
) -> Result<S::Value, Error> {
    let mut reader = Reader { input };
    let value = seed.deserialize(&mut reader)?;
    if reader.input.is_empty() {
        Ok(value)
    } else {
        Err(Error("bytes after the value".into()))
    }
}

struct Reader<'de> {
    input: &'de [u8],
}

impl<'de> Reader<'de> {
    fn take(&mut self, length: usize) -> Result<&'de [u8], Error> {
        if self.input.len() < length {
            return Err(Error("the value ends early".into()));
        }
        let (taken, rest) = self.input.split_at(length);
        self.input = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut bytes = [0; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }

    fn length(&mut self, width: u8) -> Result<usize, Error> {
        Ok(match width {
            1 => self.byte()? as usize,
            2 => u16::from_be_bytes(self.be()?) as usize,
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    fn str(&mut self, length: usize) -> Result<&'de str, Error> {
        let bytes = self.take(length)?;
        // SAFETY: the host writes only strings it parsed from text it checked as UTF-8
        // (`json_import.rs`), and this reader reads nothing else.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    }

    /// What the next value is, without reading it.
    fn peek(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// Skips one value, whatever it holds (for fields no type reads).
    fn skip(&mut self) -> Result<(), Error> {
        let marker = self.byte()?;
        let (entries, per_entry) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => return Ok(()),
            0xa0..=0xbf => return self.take((marker & 0x1f) as usize).map(drop),
            0xd9..=0xdb => {
                let length = self.length(1 << (marker - 0xd9))?;
                return self.take(length).map(drop);
            }
            0xcc | 0xd0 => return self.take(1).map(drop),
            0xcd | 0xd1 => return self.take(2).map(drop),
            0xce | 0xd2 | 0xca => return self.take(4).map(drop),
            0xcf | 0xd3 | 0xcb => return self.take(8).map(drop),
            0x90..=0x9f => ((marker & 0x0f) as usize, 1),
            0xdc => (self.length(2)?, 1),
            0xdd => (self.length(4)?, 1),
            0x80..=0x8f => ((marker & 0x0f) as usize, 2),
            0xde => (self.length(2)?, 2),
            0xdf => (self.length(4)?, 2),
            other => return Err(unsupported(other)),
        };
        for _ in 0..entries * per_entry {
            self.skip()?;
        }
        Ok(())
    }
}

fn unsupported(marker: u8) -> Error {
    Error(format!("MessagePack marker 0x{marker:02x} is not read"))
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let marker = self.byte()?;
        match marker {
            0x00..=0x7f => visitor.visit_u64(u64::from(marker)),
            0xe0..=0xff => visitor.visit_i64(i64::from(marker as i8)),
            0xa0..=0xbf => visitor.visit_borrowed_str(self.str((marker & 0x1f) as usize)?),
            0xd9..=0xdb => {
                let length = self.length(1 << (marker - 0xd9))?;
                visitor.visit_borrowed_str(self.str(length)?)
            }
            0xc0 => visitor.visit_unit(),
            0xc2 => visitor.visit_bool(false),
            0xc3 => visitor.visit_bool(true),
            0xcc => visitor.visit_u64(u64::from(self.byte()?)),
            0xcd => visitor.visit_u64(u64::from(u16::from_be_bytes(self.be()?))),
            0xce => visitor.visit_u64(u64::from(u32::from_be_bytes(self.be()?))),
            0xcf => visitor.visit_u64(u64::from_be_bytes(self.be()?)),
            0xd0 => visitor.visit_i64(i64::from(self.byte()? as i8)),
            0xd1 => visitor.visit_i64(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => visitor.visit_i64(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => visitor.visit_i64(i64::from_be_bytes(self.be()?)),
            0xca => visitor.visit_f64(f64::from(f32::from_be_bytes(self.be()?))),
            0xcb => visitor.visit_f64(f64::from_be_bytes(self.be()?)),
            0x90..=0x9f => {
                with_entries(self, (marker & 0x0f) as usize, 1, |e| visitor.visit_seq(e))
            }
            0xdc => {
                let length = self.length(2)?;
                with_entries(self, length, 1, |e| visitor.visit_seq(e))
            }
            0xdd => {
                let length = self.length(4)?;
                with_entries(self, length, 1, |e| visitor.visit_seq(e))
            }
            0x80..=0x8f => {
                with_entries(self, (marker & 0x0f) as usize, 2, |e| visitor.visit_map(e))
            }
            0xde => {
                let length = self.length(2)?;
                with_entries(self, length, 2, |e| visitor.visit_map(e))
            }
            0xdf => {
                let length = self.length(4)?;
                with_entries(self, length, 2, |e| visitor.visit_map(e))
            }
            other => Err(unsupported(other)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek() == Some(0xc0) {
            self.input = &self.input[1..];
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip()?;
        visitor.visit_unit()
    }

    /// Unit variants, written as their name (as JSON writes them); a variant with content
    /// is refused, and [`super::HostJson::read`] reads the JSON text instead.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.peek() {
            Some(0xa0..=0xbf | 0xd9..=0xdb) => {
                let name: &'de str = de::Deserialize::deserialize(&mut *self)?;
                visitor.visit_enum(UnitVariant(name))
            }
            _ => Err(Error(
                "an enum with content is not read from MessagePack".into(),
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// Hands the `length` entries that follow to `visit`, then skips what it left unread.
fn with_entries<'de, T>(
    reader: &mut Reader<'de>,
    length: usize,
    values_per_entry: usize,
    visit: impl FnOnce(&mut Entries<'_, 'de>) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut entries = Entries {
        reader,
        left: length,
        values_per_entry,
    };
    let value = visit(&mut entries)?;
    entries.finish()?;
    Ok(value)
}

/// The entries of an array (one value each), or of a map (a key and a value each).
struct Entries<'r, 'de> {
    reader: &'r mut Reader<'de>,
    left: usize,
    values_per_entry: usize,
}

impl Entries<'_, '_> {
    /// Skips the entries the visitor left unread, so the next value starts where it should.
    fn finish(&mut self) -> Result<(), Error> {
        for _ in 0..self.left * self.values_per_entry {
            self.reader.skip()?;
        }
        self.left = 0;
        Ok(())
    }
}

impl<'de> SeqAccess<'de> for Entries<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.reader)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A unit variant named by a string.
struct UnitVariant<'de>(&'de str);

impl<'de> EnumAccess<'de> for UnitVariant<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let name = de::value::BorrowedStrDeserializer::<'de, Error>::new(self.0);
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(Error(format!("`{}` is a unit variant here", self.0)))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(Error(format!("`{}` is a unit variant here", self.0)))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(Error(format!("`{}` is a unit variant here", self.0)))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum State {
        Open,
        Closed,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        names: Vec<&'a str>,
        #[serde(borrow)]
        note: Option<Cow<'a, str>>,
        count: u32,
        delta: i64,
        ratio: f64,
        state: State,
        missing: Option<bool>,
    }

    #[test]
    fn what_rmp_writes_reads_back_with_borrowed_strings() {
        let json = serde_json::json!({
            "names": ["a", "b".repeat(40), "c".repeat(300), "d".repeat(70_000)],
            "note": null, "count": 70000, "delta": -129, "ratio": 0.25, "state": "closed",
            "extra": {"nested": [1, {"x": [true, null, 1e300]}], "s": "ignored"},
        });
        let packed = rmp_serde::to_vec(&json).unwrap();
        let page: Page = from_slice(&packed).unwrap();
        assert_eq!(page.names[1], "b".repeat(40));
        assert_eq!(page.names[3].len(), 70_000);
        assert_eq!(page.note, None);
        assert_eq!((page.count, page.delta, page.ratio), (70000, -129, 0.25));
        assert_eq!(page.state, State::Closed);
        assert_eq!(page.missing, None);
        let value: serde_json::Value = from_slice(&packed).unwrap();
        assert_eq!(value, json);
    }

    #[test]
    fn truncated_or_unknown_input_is_an_error_not_a_panic() {
        let packed = rmp_serde::to_vec(&serde_json::json!({"names": ["abc"]})).unwrap();
        for end in 0..packed.len() {
            assert!(from_slice::<serde_json::Value>(&packed[..end]).is_err());
        }
        assert!(
            from_slice::<serde_json::Value>(&[0xc4, 1, 0]).is_err(),
            "bin"
        );
        assert!(
            from_slice::<serde_json::Value>(&[0xc0, 0xc0]).is_err(),
            "two values"
        );
    }
}
