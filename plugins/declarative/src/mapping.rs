//! Vendor records into the unified shape, field by field, as the manifest's mappings say.

use connector_declarative::model::{
    BodyFormat, CommentFields, ContainerFields, ItemFields, PrincipalFields,
};
use connector_declarative::template::{Scope, Template};
use connector_sdk::{
    BodyFormat as Format, Comment, ConnectorError, Container, Item, Principal, Result, Timestamp,
};
use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;

/// Maps records of one call: its variables, the manifest's tables, whether to keep raw JSON.
pub struct Mapper<'a> {
    pub scope: Scope<'a>,
    pub include_raw: bool,
    /// Each field's template, parsed once per call rather than once per record, by where its
    /// text is (every text lives in the manifest, or is a constant, for the whole call): an
    /// address compares in one step where hashing the text took a measurable share of a page.
    parsed: RefCell<BTreeMap<(usize, usize), Template>>,
}

impl<'a> Mapper<'a> {
    pub fn new(scope: Scope<'a>, include_raw: bool) -> Self {
        Self {
            scope,
            include_raw,
            parsed: RefCell::default(),
        }
    }
}

impl Mapper<'_> {
    fn with<'r>(&'r self, record: &'r Value) -> Scope<'r> {
        Scope {
            record,
            ..self.scope
        }
    }

    /// A field the unified shape requires.
    fn required(&self, template: &str, record: &Value, field: &str) -> Result<String> {
        self.optional(Some(template), record)?.ok_or_else(|| {
            ConnectorError::Permanent(format!(
                "unexpected response from the vendor: the record has no value for `{field}` (`{template}`)"
            ))
        })
    }

    fn optional(&self, template: Option<&str>, record: &Value) -> Result<Option<String>> {
        let Some(template) = template else {
            return Ok(None);
        };
        let failed = |why| ConnectorError::Permanent(format!("mapping `{template}`: {why}"));
        let at = (template.as_ptr() as usize, template.len());
        let mut parsed = self.parsed.borrow_mut();
        let parsed = match parsed.entry(at) {
            std::collections::btree_map::Entry::Occupied(found) => found.into_mut(),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(Template::parse(template).map_err(failed)?)
            }
        };
        parsed.render_text(&self.with(record)).map_err(failed)
    }

    /// A time field, made RFC 3339 UTC.
    fn time(&self, template: Option<&str>, record: &Value) -> Result<Option<String>> {
        self.optional(template, record)?
            .map(|text| {
                // `| time` already wrote it canonically: checked, and kept rather than written
                // again the same.
                if is_canonical_utc(&text) {
                    Ok(text)
                } else {
                    Timestamp::parse(&text).map(|t| t.to_string())
                }
            })
            .transpose()
    }

    fn attributes(
        &self,
        fields: &std::collections::BTreeMap<String, String>,
        record: &Value,
    ) -> Result<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(fields.len());
        for (name, template) in fields {
            if let Some(value) = self.optional(Some(template), record)? {
                out.push((name.clone(), value));
            }
        }
        Ok(out)
    }

    fn raw(&self, record: &Value) -> Option<String> {
        self.include_raw.then(|| record.to_string())
    }

    pub fn container(&self, f: &ContainerFields, record: &Value) -> Result<Container> {
        let mut container = Container::new(
            self.required(&f.id, record, "id")?,
            &self.required(&f.kind, record, "kind")?,
            self.required(&f.name, record, "name")?,
        );
        container.parent_id = self.optional(f.parent_id.as_deref(), record)?;
        container.description = self.optional(f.description.as_deref(), record)?;
        container.url = self.optional(f.url.as_deref(), record)?;
        container.attributes = self.attributes(&f.attributes, record)?;
        container.raw = self.raw(record);
        Ok(container)
    }

    pub fn item(&self, f: &ItemFields, record: &Value) -> Result<Item> {
        let container_id = match f.container_id.as_deref() {
            Some(template) => self.required(template, record, "container_id")?,
            None => self.required("{$container_id}", record, "container_id")?,
        };
        let mut item = Item::new(
            self.required(&f.id, record, "id")?,
            container_id,
            &self.required(&f.kind, record, "kind")?,
            self.required(&f.title, record, "title")?,
        );
        item.body = self.optional(f.body.as_deref(), record)?;
        item.body_format = format(f.body_format);
        item.url = self.optional(f.url.as_deref(), record)?;
        item.author = f
            .author
            .as_ref()
            .map(|a| self.principal(a, record))
            .transpose()?
            .flatten();
        item.created_at = self.time(f.created_at.as_deref(), record)?;
        item.updated_at = self.time(f.updated_at.as_deref(), record)?;
        item.attributes = self.attributes(&f.attributes, record)?;
        item.raw = self.raw(record);
        Ok(item)
    }

    pub fn comment(&self, f: &CommentFields, record: &Value, item_id: &str) -> Result<Comment> {
        let mut comment = Comment::new(
            self.required(&f.id, record, "id")?,
            item_id,
            self.optional(Some(&f.body), record)?.unwrap_or_default(),
        );
        comment.body_format = format(f.body_format);
        comment.author = f
            .author
            .as_ref()
            .map(|a| self.principal(a, record))
            .transpose()?
            .flatten();
        comment.created_at = self.time(f.created_at.as_deref(), record)?;
        comment.updated_at = self.time(f.updated_at.as_deref(), record)?;
        comment.url = self.optional(f.url.as_deref(), record)?;
        comment.raw = self.raw(record);
        Ok(comment)
    }

    /// The account, or `None` when the record names none.
    pub fn principal(&self, f: &PrincipalFields, record: &Value) -> Result<Option<Principal>> {
        let Some(id) = self.optional(Some(&f.id), record)? else {
            return Ok(None);
        };
        Ok(Some(Principal {
            id,
            display_name: self.optional(f.display_name.as_deref(), record)?,
            email: self.optional(f.email.as_deref(), record)?,
        }))
    }
}

fn format(format: BodyFormat) -> Format {
    match format {
        BodyFormat::Plain => Format::Plain,
        BodyFormat::Markdown => Format::Markdown,
        BodyFormat::Html => Format::Html,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, and a time: what `Timestamp`'s `to_string` writes, so the
/// text can be kept as it is. The SDK's parser checks it is a time (it is cheap; writing the
/// text again was the cost); the shape check says no rewrite would change it.
fn is_canonical_utc(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b[10] == b'T'
        && b[19] == b'Z'
        // A leap second (`:60`) is read as the next second, so it would be rewritten.
        && &b[17..19] != b"60"
        && Timestamp::parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_utc_times_skip_the_parse() {
        for (text, canonical) in [
            ("2026-11-01T16:41:41Z", true),
            ("2028-02-29T00:00:00Z", true),
            ("2026-02-29T00:00:00Z", false),
            ("2026-13-01T00:00:00Z", false),
            ("2026-11-01T16:41:41.5Z", false),
            ("2026-11-01T16:41:41+01:00", false),
            ("2026-11-01T24:00:00Z", false),
            ("2026-11-01 16:41:41Z", false),
        ] {
            assert_eq!(is_canonical_utc(text), canonical, "{text}");
            if canonical {
                assert_eq!(Timestamp::parse(text).unwrap().to_string(), text);
            }
        }
    }
}
