//! JSON shapes of the unified resources, as clients see them.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::runtime::wit;
use crate::store::{ConnectionRecord, ConnectionStatus, CredentialType};

/// One page of a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageView<T> {
    pub entries: Vec<T>,
    pub next_cursor: Option<String>,
    /// Item listings only: items the vendor reports deleted since `updated_since` (empty when
    /// the connector cannot tell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Vec<TombstoneView>>,
}

/// An item the vendor reports as deleted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TombstoneView {
    pub id: String,
    pub container_id: String,
    pub deleted_at: Option<String>,
}

impl From<wit::Tombstone> for TombstoneView {
    fn from(t: wit::Tombstone) -> Self {
        Self {
            id: t.id,
            container_id: t.container_id,
            deleted_at: t.deleted_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrincipalView {
    pub id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContainerView {
    pub id: String,
    pub parent_id: Option<String>,
    pub kind: String,
    pub name: String,
    pub description: Option<String>,
    pub url: Option<String>,
    #[schema(value_type = HashMap<String, String>)]
    pub attributes: Attributes,
    /// The vendor's JSON of this entry, with `?include_raw=true` only.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<RawValue>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub id: String,
    pub container_id: String,
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub body_format: BodyFormat,
    pub url: Option<String>,
    pub author: Option<PrincipalView>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[schema(value_type = HashMap<String, String>)]
    pub attributes: Attributes,
    /// The vendor's JSON of this entry, with `?include_raw=true` only.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<RawValue>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    pub id: String,
    pub item_id: String,
    pub body: String,
    pub body_format: BodyFormat,
    pub author: Option<PrincipalView>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub url: Option<String>,
    /// The vendor's JSON of this entry, with `?include_raw=true` only.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<RawValue>>,
}

/// How a body is written.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    #[default]
    Plain,
    Markdown,
    Html,
}

/// A connection as clients see it: never its credential.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: String,
    pub connector: String,
    pub name: String,
    pub auth_method: String,
    pub credential_type: CredentialType,
    #[schema(value_type = Object)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Values the host learned (discovered at connect, kept from the token response).
    pub values: std::collections::BTreeMap<String, String>,
    pub status: ConnectionStatus,
    #[schema(value_type = Option<Object>)]
    pub principal: Option<serde_json::Value>,
    pub last_error: Option<String>,
    pub last_success_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ConnectionRecord> for ConnectionView {
    fn from(r: ConnectionRecord) -> Self {
        Self {
            id: r.id,
            connector: r.connector,
            name: r.name,
            auth_method: r.auth_method,
            credential_type: r.credential_type,
            config: r.config,
            values: r.values,
            status: r.status,
            principal: r.principal,
            last_error: r.last_error,
            last_success_at: r.last_success_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<wit::BodyFormat> for BodyFormat {
    fn from(format: wit::BodyFormat) -> Self {
        match format {
            wit::BodyFormat::Plain => Self::Plain,
            wit::BodyFormat::Markdown => Self::Markdown,
            wit::BodyFormat::Html => Self::Html,
        }
    }
}

impl From<BodyFormat> for wit::BodyFormat {
    fn from(format: BodyFormat) -> Self {
        match format {
            BodyFormat::Plain => Self::Plain,
            BodyFormat::Markdown => Self::Markdown,
            BodyFormat::Html => Self::Html,
        }
    }
}

impl From<wit::Principal> for PrincipalView {
    fn from(p: wit::Principal) -> Self {
        Self {
            id: p.id,
            display_name: p.display_name,
            email: p.email,
        }
    }
}

/// A record's attributes: a JSON object of strings, keys in order, the last of a repeated key
/// kept. Written straight from the plugin's pairs: building a map of JSON values for every
/// entry of a page (and tearing it down after) cost more than writing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(Vec<(String, String)>);

impl From<Vec<(String, String)>> for Attributes {
    fn from(mut pairs: Vec<(String, String)>) -> Self {
        // Stable, so of a repeated key the pair the plugin gave last comes last.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == key => last.1 = value,
                _ => unique.push((key, value)),
            }
        }
        Self(unique)
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
    }
}

/// A unified record as a client sees it.
pub trait FromRecord<R> {
    /// Converts `record`; the vendor's JSON (`raw`) is kept only when the client asked.
    fn from_record(record: R, include_raw: bool) -> Self;
}

/// The vendor's JSON, passed through as it came (validated, never re-parsed into values);
/// text that is not JSON goes out as a JSON string.
fn raw(text: Option<String>, include_raw: bool) -> Option<Box<RawValue>> {
    let text = text.filter(|_| include_raw)?;
    match serde_json::from_str::<&RawValue>(&text) {
        Ok(json) => Some(json.to_owned()),
        Err(_) => serde_json::value::to_raw_value(&text).ok(),
    }
}

impl FromRecord<wit::Container> for ContainerView {
    fn from_record(c: wit::Container, include_raw: bool) -> Self {
        Self {
            id: c.id,
            parent_id: c.parent_id,
            kind: c.kind,
            name: c.name,
            description: c.description,
            url: c.url,
            attributes: c.attributes.into(),
            raw: raw(c.raw, include_raw),
        }
    }
}

impl FromRecord<wit::Item> for ItemView {
    fn from_record(i: wit::Item, include_raw: bool) -> Self {
        Self {
            id: i.id,
            container_id: i.container_id,
            kind: i.kind,
            title: i.title,
            body: i.body,
            body_format: i.body_format.into(),
            url: i.url,
            author: i.author.map(Into::into),
            created_at: i.created_at,
            updated_at: i.updated_at,
            attributes: i.attributes.into(),
            raw: raw(i.raw, include_raw),
        }
    }
}

impl FromRecord<wit::Comment> for CommentView {
    fn from_record(c: wit::Comment, include_raw: bool) -> Self {
        Self {
            id: c.id,
            item_id: c.item_id,
            body: c.body,
            body_format: c.body_format.into(),
            author: c.author.map(Into::into),
            created_at: c.created_at,
            updated_at: c.updated_at,
            url: c.url,
            raw: raw(c.raw, include_raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Attributes;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn attributes_are_an_object_in_key_order_with_the_last_repeat_kept() {
        let attributes = Attributes::from(pairs(&[
            ("status", "Open"),
            ("id", "10001"),
            ("status", "Done"),
            ("assignee", "Ann \"A\" \\ B"),
        ]));
        assert_eq!(
            serde_json::to_string(&attributes).unwrap(),
            r#"{"assignee":"Ann \"A\" \\ B","id":"10001","status":"Done"}"#
        );
        assert_eq!(
            serde_json::to_string(&Attributes::from(Vec::new())).unwrap(),
            "{}"
        );
    }
}
