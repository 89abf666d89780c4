//! Salesforce's objects as the unified records: queryable sObject types are containers,
//! records items (`{type}:{id}`, so a record names its type), Chatter feed elements and case
//! comments comments.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::soql::{identifier, record_id, title_field};

/// Standard objects offered as containers (custom `__c` objects are offered too).
pub const STANDARD: [&str; 11] = [
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "Case",
    "Campaign",
    "Contract",
    "Order",
    "Product2",
    "Task",
    "Event",
];
/// Fields never shown as attributes: they are the item's own fields, or system bookkeeping.
const NOT_ATTRIBUTES: [&str; 9] = [
    "attributes",
    "Id",
    "Description",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
    "IsDeleted",
    "LastViewedDate",
    "LastReferencedDate",
];
/// Most attributes an item carries.
const MAX_ATTRIBUTES: usize = 40;

/// The sObject type and record id of an item id.
pub fn item_parts(item_id: &str) -> Result<(&str, &str), ConnectorError> {
    let (object, id) = item_id.split_once(':').ok_or_else(|| {
        ConnectorError::NotFound(format!(
            "`{}` is not a Salesforce item id (Type:RecordId)",
            item_id.chars().take(80).collect::<String>()
        ))
    })?;
    Ok((identifier(object)?, record_id(id)?))
}

/// A Salesforce time (`2026-11-01T09:00:00.000+0000`) in the canonical RFC 3339 form.
pub fn canonical_time(text: &str) -> Option<String> {
    parse_time(text).map(|t| t.to_string())
}

pub fn parse_time(text: &str) -> Option<Timestamp> {
    let fixed = match text.len().checked_sub(5).map(|at| text.split_at(at)) {
        Some((head, zone))
            if (zone.starts_with('+') || zone.starts_with('-')) && !zone.contains(':') =>
        {
            format!("{head}{}:{}", &zone[..3], &zone[3..])
        }
        _ => text.to_owned(),
    };
    Timestamp::parse(&fixed).ok()
}

/// An entry of `/sobjects`.
#[derive(Deserialize)]
pub struct ObjectType {
    pub name: String,
    pub label: String,
    #[serde(rename = "labelPlural")]
    pub label_plural: Option<String>,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub queryable: bool,
    #[serde(default)]
    pub createable: bool,
}

impl ObjectType {
    /// Queryable standard objects from [`STANDARD`] and custom objects.
    pub fn offered(&self) -> bool {
        self.queryable
            && identifier(&self.name).is_ok()
            && (STANDARD.contains(&self.name.as_str())
                || (self.custom && self.name.ends_with("__c")))
    }

    pub fn container(&self, web: &str, raw: Option<&RawValue>) -> Container {
        let mut container = Container::new(
            &self.name,
            "sobject",
            self.label_plural.as_deref().unwrap_or(&self.label),
        );
        container.url = Some(format!("{web}/lightning/o/{}/list", self.name));
        container.attributes = vec![
            ("custom".into(), self.custom.to_string()),
            ("createable".into(), self.createable.to_string()),
        ];
        container.raw = raw.map(|r| r.get().to_owned());
        container
    }
}

/// A record as SOQL, SOSL or `/sobjects/{type}/{id}` returns it: `attributes.type` and fields.
#[derive(Deserialize)]
pub struct Record {
    pub attributes: RecordAttributes,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

#[derive(Deserialize)]
pub struct RecordAttributes {
    #[serde(rename = "type")]
    pub object: String,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Record {
    fn field(&self, name: &str) -> Option<String> {
        self.fields.get(name).and_then(text)
    }

    /// A record as an item; `full` for a record read on its own (body and attributes).
    pub fn item(&self, web: &str, full: bool, raw: Option<&RawValue>) -> Item {
        let object = &self.attributes.object;
        let title_name = title_field(object);
        let title = self.field(title_name).unwrap_or_else(|| self.id.clone());
        let mut item = Item::new(
            format!("{object}:{}", self.id),
            object.as_str(),
            &object.to_ascii_lowercase(),
            title,
        );
        item.url = Some(format!("{web}/lightning/r/{object}/{}/view", self.id));
        item.created_at = self
            .field("CreatedDate")
            .as_deref()
            .and_then(canonical_time);
        item.updated_at = self
            .field("LastModifiedDate")
            .as_deref()
            .and_then(canonical_time);
        if full {
            item.body = Some(self.field("Description").unwrap_or_default());
            item.attributes = self
                .fields
                .iter()
                .filter(|(name, _)| {
                    !NOT_ATTRIBUTES.contains(&name.as_str()) && name.as_str() != title_name
                })
                .filter_map(|(name, value)| Some((name.clone(), text(value)?)))
                .take(MAX_ATTRIBUTES)
                .collect();
        }
        item.raw = raw.map(|r| r.get().to_owned());
        item
    }

    /// A `CaseComment` record as a comment on its case.
    pub fn case_comment(&self, item_id: &str, raw: Option<&RawValue>) -> Comment {
        let mut comment = Comment::new(
            &self.id,
            item_id,
            self.field("CommentBody").unwrap_or_default(),
        );
        comment.author = self.field("CreatedById").map(Principal::id);
        comment.created_at = self
            .field("CreatedDate")
            .as_deref()
            .and_then(canonical_time);
        comment.raw = raw.map(|r| r.get().to_owned());
        comment
    }
}

/// A Chatter feed element (a post on the record's feed).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedElement {
    pub id: String,
    pub body: Option<FeedBody>,
    pub actor: Option<Actor>,
    pub created_date: Option<String>,
    pub modified_date: Option<String>,
}

#[derive(Deserialize)]
pub struct FeedBody {
    pub text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub id: String,
    pub display_name: Option<String>,
}

impl FeedElement {
    pub fn comment(&self, item_id: &str, web: &str, raw: Option<&RawValue>) -> Comment {
        let body = self
            .body
            .as_ref()
            .and_then(|b| b.text.clone())
            .unwrap_or_default();
        let mut comment = Comment::new(&self.id, item_id, body);
        comment.author = self.actor.as_ref().map(|a| {
            let mut principal = Principal::id(a.id.clone());
            principal.display_name = a.display_name.clone();
            principal
        });
        comment.created_at = self.created_date.as_deref().and_then(canonical_time);
        comment.updated_at = self.modified_date.as_deref().and_then(canonical_time);
        comment.url = Some(format!("{web}/{}", self.id));
        comment.raw = raw.map(|r| r.get().to_owned());
        comment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_times_and_item_ids_are_read() {
        assert_eq!(
            canonical_time("2026-11-01T09:00:00.000+0000").as_deref(),
            Some("2026-11-01T09:00:00Z")
        );
        assert_eq!(
            item_parts("Account:001D000000IqhSLIAZ").unwrap(),
            ("Account", "001D000000IqhSLIAZ")
        );
        for bad in [
            "001D000000IqhSLIAZ",
            "Account:1",
            "Acc ount:001D000000IqhSLIAZ",
            "Account:001D000000IqhSL'AZ",
        ] {
            assert!(item_parts(bad).is_err(), "{bad}");
        }
    }
}
