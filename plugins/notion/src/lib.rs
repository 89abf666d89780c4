//! Notion connector (API version 2025-09-03): data sources the integration can see are
//! containers, their pages are items (read with their blocks rendered to Markdown), page
//! comments are comments, and search is Notion's title search over pages. Connects with an
//! internal integration secret or a public integration's OAuth (HTTP Basic client
//! authentication, a JSON token request).

mod client;
mod mapping;
mod markdown;

use connector_sdk::prelude::*;
use connector_sdk::{ClientAuth, Oauth2, TokenRequestFormat};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use client::Notion;
use mapping::{DataSource, NotionComment, Page, notion_id};
use markdown::{Block, Node};

/// Largest page Notion serves.
const MAX_PAGE: u32 = 100;
/// Most blocks Notion takes in one request's `children`.
const MAX_CHILDREN: usize = 100;
/// Block-children requests one page read may make (the host allows 50 requests per call).
const BLOCK_REQUESTS: u32 = 40;
/// How deep nested blocks (list items in list items) are read.
const MAX_DEPTH: usize = 3;

struct NotionConnector {
    notion: Notion,
}

/// Public integrations: no scopes (access is what the user shares), no PKCE, client
/// credentials by HTTP Basic, the token request as JSON; `owner=user` as Notion requires.
fn oauth() -> Oauth2 {
    let mut oauth = Oauth2::endpoints(
        "https://api.notion.com/v1/oauth/authorize",
        "https://api.notion.com/v1/oauth/token",
    );
    oauth.pkce = false;
    oauth.client_auth = ClientAuth::Basic;
    oauth.token_request_format = TokenRequestFormat::Json;
    oauth.extra_authorize_params = vec![("owner".into(), "user".into())];
    oauth.response_values = vec![
        "workspace_id".into(),
        "workspace_name".into(),
        "bot_id".into(),
    ];
    oauth
}

/// `{"object": "list", "results": [...], "next_cursor", "has_more"}`.
#[derive(Deserialize)]
struct List<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
    next_cursor: Option<String>,
    #[serde(default)]
    has_more: bool,
}

impl List<'_> {
    fn next(&self) -> Option<String> {
        if self.has_more {
            TokenCursor::next(self.next_cursor.as_deref())
        } else {
            None
        }
    }
}

/// Just the `object` field, to skip what a list holds besides pages.
#[derive(Deserialize)]
struct Object<'a> {
    object: &'a str,
}

#[derive(Deserialize)]
struct Bot {
    workspace_name: Option<String>,
}

#[derive(Deserialize)]
struct Me {
    id: String,
    name: Option<String>,
    bot: Option<Bot>,
}

fn decode<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ConnectorError::Permanent(format!("unexpected Notion answer: {e}")))
}

/// The list-request fields every paged Notion call takes.
fn paging(page: &PageRequest) -> Result<serde_json::Map<String, Value>, ConnectorError> {
    let mut body = serde_json::Map::new();
    body.insert("page_size".into(), json!(page.limit.clamp(1, MAX_PAGE)));
    if let Some(cursor) = TokenCursor::decode(page.cursor.as_deref())?.token {
        body.insert("start_cursor".into(), json!(cursor));
    }
    Ok(body)
}

impl NotionConnector {
    /// The pages of a list answer as items (data sources and other objects left out).
    fn pages(&self, list: &List, page: &PageRequest) -> Result<Vec<Item>, ConnectorError> {
        let mut items = Vec::with_capacity(list.results.len());
        for raw in &list.results {
            if decode::<Object>(raw)?.object == "page" {
                items.push(decode::<Page>(raw)?.item(None, page.raw(raw)));
            }
        }
        Ok(items)
    }

    /// A block's children, paged, and theirs down to [`MAX_DEPTH`], within `budget` requests.
    /// Returns whether everything was read.
    fn children(
        &self,
        block_id: &str,
        depth: usize,
        budget: &mut u32,
        into: &mut Vec<Node>,
    ) -> Result<bool, ConnectorError> {
        let mut cursor: Option<String> = None;
        loop {
            if *budget == 0 {
                return Ok(false);
            }
            *budget -= 1;
            let request = self
                .notion
                .get(["blocks", block_id, "children"])
                .query("page_size", MAX_PAGE)
                .query_opt("start_cursor", cursor.as_deref());
            let response = request.send()?;
            let list: List = client::answer(&response)?;
            for raw in &list.results {
                into.push(Node {
                    block: decode::<Block>(raw)?,
                    children: Vec::new(),
                });
            }
            if !list.has_more {
                break;
            }
            cursor = list.next_cursor.clone();
        }
        let mut complete = true;
        if depth < MAX_DEPTH {
            for node in into.iter_mut().filter(|n| n.block.descends()) {
                let id = node.block.id.clone();
                complete &= self.children(&id, depth + 1, budget, &mut node.children)?;
            }
        }
        Ok(complete)
    }

    fn page_item(&self, response: &Response, body: Option<String>) -> Result<Item, ConnectorError> {
        let raw: &RawValue = client::answer(response)?;
        Ok(decode::<Page>(raw)?.item(body, Some(raw)))
    }
}

#[connector_sdk::connector]
impl connector_sdk::Connector for NotionConnector {
    fn info() -> ConnectorInfo {
        ConnectorInfo::builder("notion", "Notion")
            .description("Notion: data sources, their pages as Markdown, comments, page search")
            .auth_method(
                AuthMethod::bearer("token", "Internal integration secret (ntn_...)")
                    .credential_host("api.notion.com"),
            )
            .auth_method(
                AuthMethod::oauth2("oauth", "Public integration (OAuth)", oauth())
                    .credential_host("api.notion.com"),
            )
            .requested_host("api.notion.com")
            .origin_config_key("api_url")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "api_url": {"type": "string", "format": "uri",
                        "description": "API origin (default https://api.notion.com)"}
                }
            }))
            .build()
    }

    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            notion: Notion::new(&connection)?,
        })
    }

    /// `/v1/users/me`: the integration's bot user and its workspace.
    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let response = self.notion.get(["users", "me"]).send()?;
        let me: Me = client::answer(&response)?;
        let mut principal = Principal::id(me.id);
        principal.display_name = me.name;
        let mut info = ConnectionInfo::for_principal(principal);
        if let Some(workspace) = me.bot.and_then(|b| b.workspace_name) {
            info = info.discovered("workspace_name", workspace);
        }
        Ok(info)
    }

    /// Data sources shared with the integration (`/v1/search` filtered to them).
    fn containers(
        &self,
        _parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let mut body = paging(&page)?;
        body.insert(
            "filter".into(),
            json!({"property": "object", "value": "data_source"}),
        );
        let response = self.notion.post(["search"], &body)?.send()?;
        let list: List = client::answer(&response)?;
        let entries = list
            .results
            .iter()
            .map(|raw| Ok(decode::<DataSource>(raw)?.container(page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(ContainerPage::new(entries, list.next()))
    }

    /// Pages of a data source; `updated_since` becomes a `last_edited_time` filter (Notion
    /// keeps that time to the minute, so a page edited in the same minute comes again).
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let source = notion_id(container_id)?;
        let mut body = paging(&page)?;
        if let Some(since) = updated_since {
            body.insert(
                "filter".into(),
                json!({"timestamp": "last_edited_time",
                    "last_edited_time": {"on_or_after": since.to_string()}}),
            );
        }
        let request = self.notion.post(["data_sources", source, "query"], &body)?;
        let response = request.send()?;
        let list: List = client::answer(&response)?;
        Ok(ItemPage::new(self.pages(&list, &page)?, list.next()))
    }

    /// A page with its blocks as Markdown (nested blocks to three levels; a very long page is
    /// cut, and says so, rather than fail).
    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        let id = notion_id(item_id)?;
        let response = self.notion.get(["pages", id]).send()?;
        let mut nodes = Vec::new();
        let mut budget = BLOCK_REQUESTS;
        let complete = self.children(id, 0, &mut budget, &mut nodes)?;
        let mut body = markdown::render(&nodes);
        if !complete {
            body.push_str("\n\n… (the page goes on; open it in Notion for the rest)");
        }
        self.page_item(&response, Some(body))
    }

    /// Comments on the page, oldest first.
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let id = notion_id(item_id)?;
        let request = self
            .notion
            .get(["comments"])
            .query("block_id", id)
            .query("page_size", page.limit.clamp(1, MAX_PAGE))
            .query_opt(
                "start_cursor",
                TokenCursor::decode(page.cursor.as_deref())?.token,
            );
        let response = request.send()?;
        let list: List = client::answer(&response)?;
        let entries = list
            .results
            .iter()
            .map(|raw| Ok(decode::<NotionComment>(raw)?.comment(item_id, page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(CommentPage::new(entries, list.next()))
    }

    /// Pages whose title matches, most recently edited first.
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let mut body = paging(&page)?;
        body.insert("query".into(), json!(query));
        body.insert(
            "filter".into(),
            json!({"property": "object", "value": "page"}),
        );
        body.insert(
            "sort".into(),
            json!({"direction": "descending", "timestamp": "last_edited_time"}),
        );
        let response = self.notion.post(["search"], &body)?.send()?;
        let list: List = client::answer(&response)?;
        Ok(ItemPage::new(self.pages(&list, &page)?, list.next()))
    }

    /// A page in the data source, titled, with the body as paragraphs and bulleted items. A
    /// body over 100 blocks is appended in further requests; if one fails, the page goes to
    /// the trash so no half-written page is left.
    fn create_item(&self, container_id: &str, new: NewItem) -> Result<Item, ConnectorError> {
        let source = notion_id(container_id)?;
        if let Some((name, _)) = new.attributes.first() {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown attribute `{name}`: a new Notion page takes a title and a body"
            )));
        }
        let body = new.body.unwrap_or_default();
        let blocks = markdown::blocks(&body);
        let mut chunks = blocks.chunks(MAX_CHILDREN);
        let first = chunks.next().unwrap_or_default();
        let request = self.notion.post(
            ["pages"],
            &json!({
                "parent": {"type": "data_source_id", "data_source_id": source},
                // The title property's id is `title` in every data source.
                "properties": {"title": {"title": markdown::rich_text(&new.title)}},
                "children": first,
            }),
        )?;
        let response = request.send()?;
        let created: Page = client::answer(&response)?;
        for chunk in chunks {
            let appended = self
                .notion
                .patch(
                    ["blocks", &created.id, "children"],
                    &json!({"children": chunk}),
                )
                .and_then(|r| r.send())
                .and_then(|r| client::answer::<&RawValue>(&r).map(|_| ()));
            if let Err(error) = appended {
                let _ = self
                    .notion
                    .patch(["pages", &created.id], &json!({"in_trash": true}))
                    .and_then(|r| r.send());
                return Err(error);
            }
        }
        self.page_item(&response, Some(body.trim().to_owned()))
    }

    /// A comment on the page (a new discussion).
    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let id = notion_id(item_id)?;
        let request = self.notion.post(
            ["comments"],
            &json!({"parent": {"page_id": id}, "rich_text": markdown::rich_text(&new.body)}),
        )?;
        let response = request.send()?;
        let raw: &RawValue = client::answer(&response)?;
        Ok(decode::<NotionComment>(raw)?.comment(item_id, Some(raw)))
    }
}
