//! What a listing reads of the vendor's answer, and a reader that builds only that: the records
//! array, in each record the fields its mapping's templates name (a named field is kept whole,
//! so `markdown(...)` and `pluck(...)` see all of it), and the paging pointers. A page of 50
//! Jira issues is mostly avatars, links and metadata no mapping reads; building all of it as a
//! JSON tree, then cloning and dropping it, was most of a declarative call's time in the guest.
//! A field only ever read through `markdown("adf")` is converted as it is read, straight from
//! the host's encoding, as the Jira connector reads its descriptions: no tree is built for it.

use std::borrow::Cow;
use std::fmt;

use connector_declarative::model::{Locator, Paginate};
use connector_declarative::template::{Template, TransformKind};
use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A tree of object keys to keep; a node that keeps everything keeps its whole subtree. Arrays
/// are transparent: their elements are read with the node of the array itself.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    everything: bool,
    /// Kept whole and read only as ADF rich text: converted to Markdown as it is read.
    adf: bool,
    /// A handful per node: a scan that compares lengths first beats a tree of strings.
    keys: Vec<(String, Projection)>,
}

impl Projection {
    /// Keeps the whole document.
    pub fn everything() -> Self {
        Self {
            everything: true,
            ..Self::default()
        }
    }

    /// What a listing reads: its records (at `records`), in each the fields `fields` (a mapping,
    /// whose every string is a template) and `keep` name, and what `paginate` reads.
    pub fn of_listing(
        records: &str,
        fields: &impl Serialize,
        keep: impl Iterator<Item = impl AsRef<str>>,
        paginate: &Paginate,
    ) -> Self {
        let mut record = Projection::default();
        let Ok(mapping) = serde_json::to_value(fields) else {
            return Self::everything();
        };
        let mut templates = Vec::new();
        strings(&mapping, &mut templates);
        // Every path a template reads, and whether it reads it as ADF first.
        let mut reads: Vec<(Vec<String>, bool)> = Vec::new();
        for text in templates {
            let Ok(template) = Template::parse(text) else {
                // The mapper reports the fault; read everything so it sees what it would.
                return Self::everything();
            };
            for slot in template.slots().filter(|slot| !slot.path.variable) {
                let adf = slot.transforms.first().is_some_and(|t| {
                    t.kind == TransformKind::Markdown && t.arg.as_deref() == Some("adf")
                });
                reads.push((slot.path.segments.clone(), adf));
            }
        }
        for path in keep {
            reads.push((path.as_ref().split('.').map(str::to_owned).collect(), false));
        }
        for (path, _) in &reads {
            record.keep(path.iter().map(String::as_str));
        }
        // A path read only as ADF, with nothing else read at, above or below it.
        for (path, _) in reads.iter().filter(|(_, adf)| *adf) {
            let overlaps = |other: &[String]| {
                let shorter = path.len().min(other.len());
                path[..shorter] == other[..shorter]
            };
            let alone = reads
                .iter()
                .all(|(other, adf)| !overlaps(other) || (*adf && other == path));
            let numbered = path.iter().any(|s| s.bytes().all(|b| b.is_ascii_digit()));
            if alone && !numbered {
                record.mark_adf(path);
            }
        }
        let mut root = Projection::default();
        root.graft(pointer_segments(records), record);
        let locators = match paginate {
            Paginate::NextUrl { next, .. } | Paginate::Cursor { next, .. } => Some(next),
            _ => None,
        };
        if let Some(Locator::Pointer(pointer)) = locators {
            root.keep(pointer_segments(pointer));
        }
        let has_more = match paginate {
            Paginate::Cursor { has_more, .. }
            | Paginate::Offset { has_more, .. }
            | Paginate::PageNumber { has_more, .. } => has_more.as_deref(),
            _ => None,
        };
        if let Some(pointer) = has_more {
            root.keep(pointer_segments(pointer));
        }
        root
    }

    /// Marks the kept field at `path` as read only as ADF.
    fn mark_adf(&mut self, path: &[String]) {
        let mut node = self;
        for segment in path {
            match node.keys.iter_mut().find(|(k, _)| k == segment) {
                Some((_, child)) => node = child,
                None => return,
            }
        }
        if node.everything {
            node.adf = true;
        }
    }

    fn child(&self, key: &str) -> Option<&Projection> {
        self.keys
            .iter()
            .find(|(k, _)| {
                k.len() == key.len() && k.as_bytes().first() == key.as_bytes().first() && k == key
            })
            .map(|(_, child)| child)
    }

    fn child_mut(&mut self, key: &str) -> &mut Projection {
        let at = match self.keys.iter().position(|(k, _)| k == key) {
            Some(at) => at,
            None => {
                self.keys.push((key.to_owned(), Projection::default()));
                self.keys.len() - 1
            }
        };
        &mut self.keys[at].1
    }

    /// Keeps everything below the path.
    fn keep<'s>(&mut self, segments: impl Iterator<Item = &'s str>) {
        self.graft(segments, Self::everything());
    }

    /// Puts `leaf` at the path. A number may index an array (arrays are transparent) or name
    /// an object's key, so both are kept.
    fn graft<'s>(&mut self, mut segments: impl Iterator<Item = &'s str>, leaf: Projection) {
        if self.everything {
            return;
        }
        let Some(segment) = segments.next() else {
            self.merge(leaf);
            return;
        };
        let rest: Vec<&str> = segments.collect();
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            self.graft(rest.iter().copied(), leaf.clone());
        }
        self.child_mut(segment).graft(rest.into_iter(), leaf);
    }

    fn merge(&mut self, other: Projection) {
        if other.everything {
            *self = other;
            return;
        }
        for (key, child) in other.keys {
            self.child_mut(&key).merge(child);
        }
    }

    /// A reader of one value that builds only what this projection keeps.
    pub fn seed(&self) -> Project<'_> {
        Project(self)
    }
}

/// The segments of an RFC 6901 pointer (`""` is none).
fn pointer_segments(pointer: &str) -> impl Iterator<Item = &str> {
    pointer.split('/').skip(1)
}

fn strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(text) => out.push(text),
        Value::Array(list) => list.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Reads one value as its projection says.
#[derive(Clone, Copy)]
pub struct Project<'p>(&'p Projection);

impl<'de> DeserializeSeed<'de> for Project<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.0.adf {
            crate::rich_text::read_adf(deserializer)
        } else if self.0.everything {
            serde::Deserialize::deserialize(deserializer)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Project<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(element) = seq.next_element_seed(self)? {
            list.push(element);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            match self.0.child(&key) {
                Some(child) => {
                    let value = map.next_value_seed(Project(child))?;
                    kept.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
}

/// An object key, borrowed from the document where it can be.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use connector_declarative::model::Paginate;
    use serde_json::json;

    use super::*;

    fn read(projection: &Projection, document: &Value) -> Value {
        let text = document.to_string();
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        projection.seed().deserialize(&mut deserializer).unwrap()
    }

    #[test]
    fn a_listing_keeps_its_records_fields_and_paging_only() {
        let fields = json!({"id": "{key}", "title": "{fields.summary}",
            "body": "{fields.description | markdown(\"adf\")}", "kind": "issue",
            "first": "{members.0.name}", "when": "{$updated_since}"});
        let paginate: Paginate = serde_json::from_value(
            json!({"type": "cursor", "cursor_param": "t", "next": {"pointer": "/next"}}),
        )
        .unwrap();
        let projection = Projection::of_listing("/issues", &fields, ["labels"].iter(), &paginate);
        let page = json!({
            "issues": [{"key": "A-1", "self": "https://x", "labels": ["a"],
                "members": [{"name": "Ada", "avatar": "big"}],
                "fields": {"summary": "S", "avatarUrls": {"48x48": "u"},
                    "description": {"type": "doc", "content": [{"type": "paragraph",
                    "content": [{"type": "text", "text": "t"}]}]}}}],
            "next": "n2", "total": 90, "names": {"x": "y"},
        });
        assert_eq!(
            read(&projection, &page),
            json!({
                "issues": [{"key": "A-1", "labels": ["a"], "members": [{"name": "Ada"}],
                    "fields": {"summary": "S", "description": {"\u{0}markdown": "t"}}}],
                "next": "n2",
            })
        );
        // Converted as it was read, it reads as the converter would have made it.
        let converted = &read(&projection, &page)["issues"][0]["fields"]["description"];
        assert_eq!(
            crate::rich_text::to_markdown("adf", converted),
            crate::rich_text::to_markdown("adf", &page["issues"][0]["fields"]["description"])
        );
        // A field also read as it is stays a tree.
        let both = json!({"body": "{fields.description | markdown(\"adf\")}",
            "raw": "{fields.description.type}"});
        let projection = Projection::of_listing("/issues", &both, [""; 0].iter(), &paginate);
        assert_eq!(
            read(&projection, &page)["issues"][0]["fields"]["description"],
            page["issues"][0]["fields"]["description"]
        );
        // The whole document where the records are the document itself.
        let everything =
            Projection::of_listing("", &json!({"id": "{id}"}), [""; 0].iter(), &paginate);
        assert_eq!(
            read(&everything, &json!([{"id": 1, "x": 2}])),
            json!([{"id": 1}])
        );
        assert_eq!(read(&Projection::everything(), &page), page);
    }
}
