//! JSON shapes of the unified resources, as clients see them.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::runtime::wit;
use crate::store::{ConnectionRecord, ConnectionStatus, CredentialType};

/// One page of a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageView<T> {
    /// The page's entries.
    pub entries: Vec<T>,
    /// Where the next page starts (pass it as `cursor`); none on the last page.
    pub next_cursor: Option<String>,
    /// Item listings only: items the vendor reports deleted since `updated_since` (empty when
    /// the connector cannot tell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Vec<TombstoneView>>,
}

/// An item the vendor reports as deleted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TombstoneView {
    /// The item's id.
    pub id: String,
    /// The container it was in.
    pub container_id: String,
    /// When it was deleted, when the vendor says.
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

/// Who a record is by, or whose credential a connection holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrincipalView {
    /// The vendor's id of the person or account.
    pub id: String,
    /// Their name as the vendor shows it.
    pub display_name: Option<String>,
    /// Their e-mail, when the vendor tells it.
    pub email: Option<String>,
}

/// A container: a Jira project, a Confluence space, a Slack channel, a database table.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContainerView {
    /// The vendor's id.
    pub id: String,
    /// The container it is in, for nested ones.
    pub parent_id: Option<String>,
    /// What kind of container, in the connector's words (`project`, `space`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Where a person opens it.
    pub url: Option<String>,
    /// Connector-specific fields, as strings.
    #[schema(value_type = HashMap<String, String>)]
    pub attributes: Attributes,
    /// The vendor's JSON of this entry, with `?include_raw=true` only.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<RawValue>>,
}

/// An item: a Jira issue, a Confluence page, a Slack message, a row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    /// The vendor's id.
    pub id: String,
    /// The container it is in.
    pub container_id: String,
    /// What kind of item, in the connector's words (`issue`, `page`).
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its body, in `body_format`; only on a single read or a write unless the listing includes it.
    pub body: Option<String>,
    /// How `body` is written.
    pub body_format: BodyFormat,
    /// Where a person opens it.
    pub url: Option<String>,
    /// Who created it.
    pub author: Option<PrincipalView>,
    /// When it was created (RFC 3339).
    pub created_at: Option<String>,
    /// When it last changed (RFC 3339).
    pub updated_at: Option<String>,
    /// Connector-specific fields (status, priority, assignee), as strings.
    #[schema(value_type = HashMap<String, String>)]
    pub attributes: Attributes,
    /// The vendor's JSON of this entry, with `?include_raw=true` only.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<RawValue>>,
}

/// A comment on an item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    /// The vendor's id.
    pub id: String,
    /// The item it is on.
    pub item_id: String,
    /// Its text, in `body_format`.
    pub body: String,
    /// How `body` is written.
    pub body_format: BodyFormat,
    /// Who wrote it.
    pub author: Option<PrincipalView>,
    /// When it was written (RFC 3339).
    pub created_at: Option<String>,
    /// When it last changed (RFC 3339).
    pub updated_at: Option<String>,
    /// Where a person opens it.
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
    /// Plain text.
    #[default]
    Plain,
    /// Markdown (CommonMark).
    Markdown,
    /// HTML.
    Html,
}

/// A connection as clients see it: never its credential.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    /// The connection's id (`conn_...`).
    pub id: String,
    /// The connector's id.
    pub connector: String,
    /// Its name.
    pub name: String,
    /// The auth method its credential is for.
    pub auth_method: String,
    /// The kind of credential it holds (never the credential).
    pub credential_type: CredentialType,
    /// Its config, as the client set it.
    #[schema(value_type = Object)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Values the host learned (discovered at connect, kept from the token response).
    pub values: std::collections::BTreeMap<String, String>,
    /// `active`, `invalid_credentials` or `needs_reauth`.
    pub status: ConnectionStatus,
    /// Whose credential it is, as the vendor answered `connect`.
    #[schema(value_type = Option<Object>)]
    pub principal: Option<serde_json::Value>,
    /// The last error the vendor answered a call with, when the status is not `active`.
    pub last_error: Option<String>,
    /// When a call last succeeded.
    pub last_success_at: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
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
