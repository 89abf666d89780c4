//! Constructors for the unified resource records, so connectors fill in only what they know.

use serde_json::value::RawValue;

use crate::{
    BodyFormat, ChangeEvent, ChangeKind, Comment, CommentPage, Container, ContainerPage, Item,
    ItemPage, ObjectKind, PageRequest, Principal, Tombstone,
};

impl PageRequest {
    /// An entry's raw vendor JSON to keep in the record, only when the caller asked for it
    /// (`?include_raw=true`): copying it otherwise is wasted work on every entry of a page.
    pub fn raw<'a>(&self, raw: &'a RawValue) -> Option<&'a RawValue> {
        self.include_raw.then_some(raw)
    }
}

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

impl ItemPage {
    /// A page of items with no tombstones.
    pub fn new(entries: Vec<Item>, next_cursor: Option<String>) -> Self {
        Self {
            entries,
            next_cursor,
            deleted: Vec::new(),
        }
    }
}

impl ContainerPage {
    /// A page of containers.
    pub fn new(entries: Vec<Container>, next_cursor: Option<String>) -> Self {
        Self {
            entries,
            next_cursor,
        }
    }
}

impl CommentPage {
    /// A page of comments.
    pub fn new(entries: Vec<Comment>, next_cursor: Option<String>) -> Self {
        Self {
            entries,
            next_cursor,
        }
    }
}

impl Tombstone {
    /// Item `id` of `container_id` was deleted (at `deleted_at`, if the vendor says).
    pub fn new(
        id: impl Into<String>,
        container_id: impl Into<String>,
        deleted_at: Option<crate::Timestamp>,
    ) -> Self {
        Self {
            id: id.into(),
            container_id: container_id.into(),
            deleted_at: deleted_at.map(|t| t.to_string()),
        }
    }
}

impl ChangeEvent {
    fn of(kind: ChangeKind, object: ObjectKind) -> Self {
        Self {
            kind,
            object,
            container_id: None,
            item_id: None,
            comment_id: None,
            occurred_at: None,
            item: None,
            comment: None,
        }
    }

    /// An item was created or updated; the event carries it.
    pub fn item(kind: ChangeKind, item: Item) -> Self {
        let mut event = Self::of(kind, ObjectKind::Item);
        event.container_id = Some(item.container_id.clone());
        event.item_id = Some(item.id.clone());
        event.occurred_at = item.updated_at.clone();
        event.item = Some(item);
        event
    }

    /// An item was deleted.
    pub fn item_deleted(container_id: impl Into<String>, item_id: impl Into<String>) -> Self {
        let mut event = Self::of(ChangeKind::Deleted, ObjectKind::Item);
        event.container_id = Some(container_id.into());
        event.item_id = Some(item_id.into());
        event
    }

    /// A comment was created or updated; the event carries it.
    pub fn comment(kind: ChangeKind, container_id: Option<String>, comment: Comment) -> Self {
        let mut event = Self::of(kind, ObjectKind::Comment);
        event.container_id = container_id;
        event.item_id = Some(comment.item_id.clone());
        event.comment_id = Some(comment.id.clone());
        event.occurred_at = comment.updated_at.clone().or(comment.created_at.clone());
        event.comment = Some(comment);
        event
    }

    /// A comment was deleted.
    pub fn comment_deleted(item_id: impl Into<String>, comment_id: impl Into<String>) -> Self {
        let mut event = Self::of(ChangeKind::Deleted, ObjectKind::Comment);
        event.item_id = Some(item_id.into());
        event.comment_id = Some(comment_id.into());
        event
    }

    /// When it happened.
    pub fn at(mut self, occurred_at: crate::Timestamp) -> Self {
        self.occurred_at = Some(occurred_at.to_string());
        self
    }
}
