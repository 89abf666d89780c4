//! Confluence v2 pages read straight into structs (strings borrowed from the response body,
//! no `serde_json::Value` tree), mapped to unified items.

use atlassian::lenient::{Count, Lenient, Text};
use atlassian::{Site, storage_to_text};
use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A v2 listing: `results` (each an `E`) and `_links.next`.
#[derive(Deserialize)]
pub struct Listing<'a, E> {
    pub results: Vec<E>,
    #[serde(default, rename = "_links", borrow)]
    pub links: Lenient<Links<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct Links<'a> {
    #[serde(borrow)]
    pub next: Text<'a>,
    #[serde(borrow)]
    pub webui: Text<'a>,
}

impl<E> Listing<'_, E> {
    /// The `next` link, if there is one.
    pub fn next_link(&self) -> Option<&str> {
        self.links.0.as_ref().and_then(|links| links.next.as_str())
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct Page<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(rename = "spaceId", borrow)]
    space_id: Text<'a>,
    #[serde(borrow)]
    title: Text<'a>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(rename = "parentId", borrow)]
    parent_id: Text<'a>,
    #[serde(rename = "createdAt", borrow)]
    created_at: Text<'a>,
    #[serde(rename = "authorId", borrow)]
    author_id: Text<'a>,
    #[serde(borrow)]
    version: Lenient<Version<'a>>,
    #[serde(borrow)]
    body: Lenient<Body<'a>>,
    #[serde(rename = "_links", borrow)]
    links: Lenient<Links<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Version<'a> {
    number: Count,
    #[serde(rename = "createdAt", borrow)]
    created_at: Text<'a>,
    #[serde(rename = "authorId", borrow)]
    author_id: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    #[serde(borrow)]
    storage: Lenient<Storage<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Storage<'a> {
    #[serde(borrow)]
    value: Text<'a>,
}

/// A page as an item; `raw` is its JSON when the client asked for it.
pub fn page_item(site: &Site, page: &Page, raw: Option<&RawValue>) -> Item {
    let mut item = Item::new(
        page.id.or_empty(),
        page.space_id.or_empty(),
        "page",
        page.title.or_empty(),
    );
    let storage = page
        .body
        .0
        .as_ref()
        .and_then(|body| body.storage.0.as_ref())
        .and_then(|storage| storage.value.as_str());
    if let Some(storage) = storage {
        item.body = Some(storage_to_text(storage));
        item.body_format = BodyFormat::Plain;
    }
    item.url = page
        .links
        .0
        .as_ref()
        .and_then(|links| links.webui.as_str())
        .map(|path| site.browse_url(&["/wiki", path]));
    let version = page.version.0.as_ref();
    item.author = version
        .and_then(|v| v.author_id.as_str())
        .or(page.author_id.as_str())
        .map(Principal::id);
    item.created_at = page.created_at.to_owned_string();
    item.updated_at = version
        .and_then(|v| v.created_at.to_owned_string())
        .or_else(|| item.created_at.clone());
    item.attributes = [("status", &page.status), ("parent_id", &page.parent_id)]
        .into_iter()
        .filter_map(|(name, value)| value.to_owned_string().map(|v| (name.to_owned(), v)))
        .chain(
            version
                .and_then(|v| v.number.0)
                .map(|n| ("version".to_owned(), n.to_string())),
        )
        .collect();
    item.raw = raw.map(|raw| raw.get().to_owned());
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_typed_with_its_version_and_links() {
        let json = r#"{"id": "98001", "spaceId": "65538", "title": "Runbook", "status": "current",
            "parentId": "97999", "createdAt": "2026-10-02T08:30:00.000Z", "authorId": "a-1",
            "version": {"number": 4, "authorId": "a-2", "createdAt": "2026-11-02T16:45:12.000Z"},
            "body": {"storage": {"value": "<p>Hello <b>there</b></p>"}},
            "_links": {"webui": "/spaces/OPS/pages/98001/Runbook"}}"#;
        let page: Page = serde_json::from_str(json).unwrap();
        let site = Site::direct("https://acme.atlassian.net", atlassian::Product::Confluence);
        let item = page_item(&site, &page, None);
        assert_eq!(
            (item.id.as_str(), item.container_id.as_str()),
            ("98001", "65538")
        );
        assert_eq!(item.body.as_deref(), Some("Hello there"));
        assert_eq!(item.author.map(|a| a.id).as_deref(), Some("a-2"));
        assert_eq!(item.updated_at.as_deref(), Some("2026-11-02T16:45:12.000Z"));
        assert_eq!(
            item.url.as_deref(),
            Some("https://acme.atlassian.net/wiki/spaces/OPS/pages/98001/Runbook")
        );
        assert_eq!(
            item.attributes,
            [
                ("status".to_owned(), "current".to_owned()),
                ("parent_id".to_owned(), "97999".to_owned()),
                ("version".to_owned(), "4".to_owned()),
            ]
        );
    }
}
