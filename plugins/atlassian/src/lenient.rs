//! Field types for reading vendor JSON straight into structs without failing a whole page on
//! one odd value: a [`Text`] is a string when the vendor sent one and empty otherwise, a
//! [`Count`] likewise for numbers, a [`Lenient`] an object and a [`List`] an array of objects.
//! Strings without escapes are borrowed from the response body, so reading a page allocates
//! only what the records keep, and no `serde_json::Value` tree is built.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A string field: `Some` when the vendor sent a string, `None` for null, absence or any
/// other kind of value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The string, if there was one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The string, owned, if there was one.
    pub fn to_owned_string(&self) -> Option<String> {
        self.0.as_deref().map(str::to_owned)
    }

    /// The string, or `""`.
    pub fn or_empty(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }
}

/// A number field: `Some` for a non-negative integer, `None` otherwise.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub Option<u64>);

/// Drains whatever value comes (a nested object or array) and answers `value`.
fn skip_map<'de, A: MapAccess<'de>, T>(mut map: A, value: T) -> Result<T, A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(value)
}

fn skip_seq<'de, A: SeqAccess<'de>, T>(mut seq: A, value: T) -> Result<T, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(value)
}

/// `visit_*` methods answering `$empty` for every scalar kind but strings and integers.
macro_rules! empty_for_scalars {
    ($empty:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
    };
}

/// Also `$empty` for strings and integers.
macro_rules! empty_for_strings_and_integers {
    ($empty:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($empty)
        }
    };
}

/// Also `$empty` for objects and arrays, drained.
macro_rules! empty_for_containers {
    ($empty:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            skip_map(map, $empty)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            skip_seq(seq, $empty)
        }
    };
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_for_scalars!(Text(None));
    empty_for_containers!(Text(None));
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Count(Some(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Count(u64::try_from(v).ok()))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Count(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_for_scalars!(Count(None));
    empty_for_containers!(Count(None));
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

/// An object field read as `T`; `None` for null, absence or a value that is not an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|value| Lenient(Some(value)))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_for_strings_and_integers!(Lenient(None));
    empty_for_scalars!(Lenient(None));
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq, Lenient(None))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

/// An array of objects read as `T`s; entries that are not objects are skipped, and anything
/// but an array reads as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
        while let Some(Lenient(entry)) = seq.next_element::<Lenient<T>>()? {
            entries.extend(entry);
        }
        Ok(List(entries))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_for_strings_and_integers!(List::default());
    empty_for_scalars!(List::default());
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map, List::default())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Record<'a> {
        #[serde(borrow, default)]
        name: Text<'a>,
        #[serde(default)]
        size: Count,
    }

    #[test]
    fn odd_values_read_as_empty_and_plain_strings_are_borrowed() {
        let read = |json: &'static str| serde_json::from_str::<Record<'static>>(json).unwrap();
        let plain = read(r#"{"name": "Ada", "size": 3}"#);
        assert!(matches!(plain.name.0, Some(Cow::Borrowed("Ada"))));
        assert_eq!(plain.size, Count(Some(3)));
        assert_eq!(read(r#"{"name": "a\"b"}"#).name.as_str(), Some("a\"b"));
        for odd in [
            r#"{"name": 7, "size": "x"}"#,
            r#"{"name": null, "size": null}"#,
            r#"{"name": {"a": [1, {"b": 2}]}, "size": [1, 2]}"#,
            r#"{"name": [true], "size": -1}"#,
            r#"{}"#,
        ] {
            let record = read(odd);
            assert_eq!(
                (record.name.as_str(), record.size),
                (None, Count(None)),
                "{odd}"
            );
        }
    }
}
