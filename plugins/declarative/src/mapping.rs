//! Vendor records into the unified shape, field by field, as the manifest's mappings say.

use connector_declarative::model::{
    BodyFormat, CommentFields, ContainerFields, ItemFields, PrincipalFields,
};
use connector_declarative::template::{Scope, Template};
use connector_sdk::{
    BodyFormat as Format, Comment, ConnectorError, Container, Item, Principal, Result, Timestamp,
};
use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;

/// Maps records of one call: its variables, the manifest's tables, whether to keep raw JSON.
pub struct Mapper<'a> {
    pub scope: Scope<'a>,
    pub include_raw: bool,
    /// Each field's template, parsed once per call rather than once per record.
    parsed: RefCell<HashMap<String, Template>>,
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
        let mut parsed = self.parsed.borrow_mut();
        if !parsed.contains_key(template) {
            parsed.insert(
                template.to_owned(),
                Template::parse(template).map_err(failed)?,
            );
        }
        parsed[template]
            .render_text(&self.with(record))
            .map_err(failed)
    }

    /// A time field, made RFC 3339 UTC.
    fn time(&self, template: Option<&str>, record: &Value) -> Result<Option<String>> {
        self.optional(template, record)?
            .map(|text| Timestamp::parse(&text).map(|t| t.to_string()))
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
