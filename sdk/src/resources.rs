//! Constructors for the unified resource records, so connectors fill in only what they know.

use crate::{BodyFormat, Comment, Container, Item, Principal};

impl Principal {
    /// A principal known only by id.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display_name: None,
            email: None,
        }
    }
}

impl Container {
    /// A container with no parent, description, url, attributes or raw JSON.
    pub fn new(id: impl Into<String>, kind: &str, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            parent_id: None,
            kind: kind.to_owned(),
            name: name.into(),
            description: None,
            url: None,
            attributes: Vec::new(),
            raw: None,
        }
    }
}

impl Item {
    /// An item with a plain-text empty body and no other details.
    pub fn new(
        id: impl Into<String>,
        container_id: impl Into<String>,
        kind: &str,
        title: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            container_id: container_id.into(),
            kind: kind.to_owned(),
            title: title.into(),
            body: None,
            body_format: BodyFormat::Plain,
            url: None,
            author: None,
            created_at: None,
            updated_at: None,
            attributes: Vec::new(),
            raw: None,
        }
    }
}

impl Comment {
    /// A plain-text comment with no author, times, url or raw JSON.
    pub fn new(id: impl Into<String>, item_id: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            item_id: item_id.into(),
            body: body.into(),
            body_format: BodyFormat::Plain,
            author: None,
            created_at: None,
            updated_at: None,
            url: None,
            raw: None,
        }
    }
}
