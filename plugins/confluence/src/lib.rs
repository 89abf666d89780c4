//! Confluence Cloud connector: spaces are containers, pages are items, footer comments are
//! comments. REST API v2 for content (cursor pagination), v1 CQL for search (v2 has none).
//! Talks to the site (API token, Basic) or `api.atlassian.com/ex/confluence/{cloudId}` (3LO).

use atlassian::{
    Product, Site, encode, read_entry, read_with_raw, storage_from_text, storage_to_text,
};
use connector_sdk::config::Config;
use connector_sdk::http::{self, Request};
use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

mod pages;

use pages::{Listing, Page, page_item};

struct Confluence {
    site: Site,
}

#[derive(Deserialize)]
struct Results {
    results: Vec<Value>,
    #[serde(default, rename = "_links")]
    links: Value,
}

impl Results {
    fn next_cursor(&self) -> Option<String> {
        next_cursor(self.links.get("next")?.as_str()?)
    }
}

/// The `cursor` of a `_links.next` link: the connector rebuilds the URL itself rather than
/// follow a link it was handed.
fn next_cursor(next: &str) -> Option<String> {
    let query = next.split_once('?')?.1;
    let token = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("cursor="))?;
    TokenCursor::next(Some(&decode(token)))
}

/// Confluence ids are numbers; anything else cannot be one and must not reach a URL.
fn numeric_id<'a>(id: &'a str, what: &str) -> Result<&'a str, ConnectorError> {
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{id}` is not a Confluence {what} id"
        )))
    }
}

/// Percent-decodes a query value (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, byte) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn web_url(site: &Site, value: &Value) -> Option<String> {
    text(value, "/_links/webui").map(|path| site.browse_url(&["/wiki", &path]))
}

fn author(value: &Value) -> Option<Principal> {
    text(value, "/version/authorId")
        .or_else(|| text(value, "/authorId"))
        .map(Principal::id)
}

fn comment(site: &Site, page_id: &str, value: &Value) -> Comment {
    let body = text(value, "/body/storage/value")
        .map(|s| storage_to_text(&s))
        .unwrap_or_default();
    let mut comment = Comment::new(text(value, "/id").unwrap_or_default(), page_id, body);
    comment.author = author(value);
    comment.created_at = text(value, "/version/createdAt");
    comment.updated_at = comment.created_at.clone();
    comment.url = web_url(site, value);
    comment.raw = Some(value.to_string());
    comment
}

/// One page with its storage body (its JSON kept as `raw`).
fn get_page(site: &Site, id: &str) -> Result<Item, ConnectorError> {
    let response = Request::get(format!(
        "{}/wiki/api/v2/pages/{}?body-format=storage",
        site.api_base()?,
        numeric_id(id, "page")?
    ))
    .send_ok()?;
    page_answer(site, &response)
}

/// A page Confluence answered with (read or created), its JSON kept as `raw`.
fn page_answer(site: &Site, response: &http::Response) -> Result<Item, ConnectorError> {
    let raw: &RawValue = response.json()?;
    Ok(page_item(
        site,
        &read_entry::<Page>(Product::Confluence, raw)?,
        Some(raw),
    ))
}

#[connector_sdk::connector]
impl Connector for Confluence {
    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            site: Site::from_connection(&connection, Product::Confluence)?,
        })
    }

    fn info() -> ConnectorInfo {
        atlassian::connector_info(
            "confluence",
            "Confluence",
            env!("CARGO_PKG_VERSION"),
            "Confluence Cloud: spaces, pages and footer comments through REST API v2",
            &[
                "read:page:confluence",
                "write:page:confluence",
                "read:space:confluence",
                "read:comment:confluence",
                "write:comment:confluence",
                "search:confluence",
                "read:confluence-user",
            ],
        )
        .build()
    }

    fn validate(config: &Config) -> Result<(), ConnectorError> {
        // The auth method is not known yet; only the URLs are checked.
        Site::from_config(config, None, Product::Confluence).map(|_| ())
    }

    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let site = &self.site;
        let (base, cloud_id) = if site.oauth {
            let cloud_id = site.discover_cloud_id()?;
            (
                format!("{}/ex/confluence/{cloud_id}", site.gateway),
                Some(cloud_id),
            )
        } else {
            (site.api_base()?, None)
        };
        let me: Value = http::get_json(&format!("{base}/wiki/rest/api/user/current"))?;
        let mut principal = Principal::id(me["accountId"].as_str().unwrap_or_default());
        principal.display_name = me["displayName"].as_str().map(str::to_owned);
        principal.email = me["email"]
            .as_str()
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        let info = ConnectionInfo::for_principal(principal);
        Ok(match cloud_id {
            Some(id) => info.discovered("cloud_id", id),
            None => info,
        })
    }

    /// Spaces, through `/wiki/api/v2/spaces` (cursor pagination).
    fn containers(
        &self,
        _parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let site = &self.site;
        let cursor = TokenCursor::decode(page.cursor.as_deref())?;
        let mut url = format!(
            "{}/wiki/api/v2/spaces?limit={}",
            site.api_base()?,
            page.limit.clamp(1, 250)
        );
        if let Some(token) = &cursor.token {
            url.push_str(&format!("&cursor={}", encode(token)));
        }
        let found: Results = http::get_json(&url)?;
        let entries = found
            .results
            .iter()
            .map(|space| {
                let mut container = Container::new(
                    text(space, "/id").unwrap_or_default(),
                    "space",
                    text(space, "/name").unwrap_or_default(),
                );
                container.url = web_url(site, space);
                container.attributes = [("key", "/key"), ("type", "/type"), ("status", "/status")]
                    .iter()
                    .filter_map(|(name, pointer)| {
                        text(space, pointer).map(|v| ((*name).to_owned(), v))
                    })
                    .collect();
                container.raw = page.include_raw.then(|| space.to_string());
                container
            })
            .collect();
        Ok(ContainerPage {
            entries,
            next_cursor: found.next_cursor(),
        })
    }

    /// A space's pages, most recently modified first; with `updated_since`, the listing ends
    /// at the first page modified before it (v2 has no server-side filter for this).
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let site = &self.site;
        let cursor = TokenCursor::decode(page.cursor.as_deref())?;
        let mut url = format!(
            "{}/wiki/api/v2/spaces/{}/pages?limit={}&sort=-modified-date",
            site.api_base()?,
            numeric_id(container_id, "space")?,
            page.limit.clamp(1, 250)
        );
        if let Some(token) = &cursor.token {
            url.push_str(&format!("&cursor={}", encode(token)));
        }
        let response = Request::get(url).send_ok()?;
        // Pages read by the host's native parser borrow from it, so it lives as long as they do.
        let read_by_host;
        let (pages, next_link): (Vec<(Page, Option<&RawValue>)>, _) = if page.include_raw {
            let found: Listing<&RawValue> = response.json()?;
            let next = found.next_link().map(str::to_owned);
            (
                read_with_raw::<Page>(Product::Confluence, found.results)?,
                next,
            )
        } else {
            read_by_host = response.json_from_host()?;
            let found: Listing<Page> = read_by_host.read()?;
            let next = found.next_link().map(str::to_owned);
            (found.results.into_iter().map(|p| (p, None)).collect(), next)
        };
        let mut next_cursor = next_link.as_deref().and_then(next_cursor);
        let mut entries = Vec::with_capacity(pages.len());
        for (found, raw) in &pages {
            let item = page_item(site, found, *raw);
            // Compared as instants: Confluence writes times with its own offsets.
            if let (Some(since), Some(updated)) = (updated_since, &item.updated_at)
                && Timestamp::parse(updated).is_ok_and(|updated| updated < since)
            {
                next_cursor = None;
                break;
            }
            entries.push(item);
        }
        Ok(ItemPage::new(entries, next_cursor))
    }

    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        get_page(&self.site, item_id)
    }

    /// A page's footer comments, oldest first.
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let site = &self.site;
        let cursor = TokenCursor::decode(page.cursor.as_deref())?;
        let mut url = format!(
            "{}/wiki/api/v2/pages/{}/footer-comments?body-format=storage&sort=created-date&limit={}",
            site.api_base()?,
            numeric_id(item_id, "page")?,
            page.limit.clamp(1, 250)
        );
        if let Some(token) = &cursor.token {
            url.push_str(&format!("&cursor={}", encode(token)));
        }
        let found: Results = http::get_json(&url)?;
        Ok(CommentPage {
            entries: found
                .results
                .iter()
                .map(|c| comment(site, item_id, c))
                .collect(),
            next_cursor: found.next_cursor(),
        })
    }

    /// CQL through v1 search: text search in pages by default; `cql:` passes CQL as it is.
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let site = &self.site;
        let offset = OffsetCursor::decode(page.cursor.as_deref())?;
        let cql = match query.strip_prefix("cql:") {
            Some(cql) => cql.trim().to_owned(),
            None => format!(
                "type=page AND text ~ \"{}\"",
                query.replace('\\', "\\\\").replace('"', "\\\"")
            ),
        };
        let url = format!(
            "{}/wiki/rest/api/search?cql={}&start={}&limit={}",
            site.api_base()?,
            encode(&cql),
            offset.start,
            page.limit.clamp(1, 100)
        );
        let found: Value = http::get_json(&url)?;
        let results = found["results"].as_array().cloned().unwrap_or_default();
        let total = found["totalSize"].as_u64();
        let entries: Vec<Item> = results
            .iter()
            .map(|hit| {
                let content = &hit["content"];
                let mut item = Item::new(
                    text(content, "/id").unwrap_or_default(),
                    text(content, "/space/id")
                        .or_else(|| text(hit, "/resultGlobalContainer/title"))
                        .unwrap_or_default(),
                    text(content, "/type").as_deref().unwrap_or("page"),
                    text(content, "/title")
                        .or_else(|| text(hit, "/title"))
                        .unwrap_or_default(),
                );
                item.body = text(hit, "/excerpt").map(|e| storage_to_text(&e));
                item.url = text(hit, "/url").map(|path| site.browse_url(&["/wiki", &path]));
                item.updated_at = text(hit, "/lastModified");
                item.raw = page.include_raw.then(|| hit.to_string());
                item
            })
            .collect();
        let next_cursor = offset.next_unless_last(entries.len(), false, total);
        Ok(ItemPage::new(entries, next_cursor))
    }

    /// Creates a page in the space, then returns it as stored.
    fn create_item(&self, container_id: &str, new: NewItem) -> Result<Item, ConnectorError> {
        let site = &self.site;
        if let Some((key, _)) = new.attributes.first() {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown attribute `{key}`; Confluence pages take none"
            )));
        }
        let body = json!({
            "spaceId": numeric_id(container_id, "space")?,
            "status": "current",
            "title": new.title,
            "body": {"representation": "storage", "value": storage_from_text(new.body.as_deref().unwrap_or_default())},
        });
        let response = Request::post(format!("{}/wiki/api/v2/pages", site.api_base()?))
            .json(&body)?
            .send_ok()?;
        page_answer(site, &response)
    }

    /// Adds a footer comment to a page.
    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let site = &self.site;
        let body = json!({
            "pageId": numeric_id(item_id, "page")?,
            "body": {"representation": "storage", "value": storage_from_text(&new.body)},
        });
        let created: Value =
            Request::post(format!("{}/wiki/api/v2/footer-comments", site.api_base()?))
                .json(&body)?
                .send_json()?;
        Ok(comment(site, item_id, &created))
    }
}
