//! Datadog connector (API v1 and v2): the kinds an on-call engineer browses are containers
//! (monitors, incidents, dashboards, events), their entries are items, an incident's todos are
//! its comments. Search covers monitors (Datadog's monitor query syntax) and, with an
//! `events:` prefix, events. Creates post an event or declare an incident; actions mute and
//! unmute monitors and resolve incidents. Authenticates with an API key and an application
//! key, which the host places in `DD-API-KEY` and `DD-APPLICATION-KEY`.

mod actions;
mod client;
mod mapping;

use connector_sdk::config::Config;
use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use client::{Datadog, SITES};
use mapping::{Dashboard, Event, EventHit, Incident, KINDS, Monitor, MonitorHit, Target, Todo};

/// Largest page this connector asks for.
const MAX_PAGE: u32 = 100;
/// How far back the events container looks without `updated_since`.
const EVENTS_WINDOW: &str = "now-7d";

pub struct DatadogConnector {
    datadog: Datadog,
    /// Where people open Datadog (`https://app.datadoghq.com`).
    web: String,
}

/// The web app of a site: `app.` before the two-label sites, the site itself otherwise.
fn web_origin(site: &str) -> String {
    if site.matches('.').count() >= 2 {
        format!("https://{site}")
    } else {
        format!("https://app.{site}")
    }
}

pub fn decode<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ConnectorError::Permanent(format!("unexpected Datadog answer: {e}")))
}

fn limit(page: &PageRequest) -> u32 {
    page.limit.clamp(1, MAX_PAGE)
}

/// `{"valid": true}` from `/api/v1/validate`.
#[derive(Deserialize)]
struct Validation {
    valid: bool,
}

/// `/api/v2/current_user/application_keys?include=owned_by`: the key's owner is included.
#[derive(Deserialize)]
struct ApplicationKeys {
    #[serde(default)]
    included: Vec<Included>,
}

#[derive(Deserialize)]
struct Included {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    attributes: UserAttributes,
}

#[derive(Deserialize, Default)]
struct UserAttributes {
    name: Option<String>,
    handle: Option<String>,
    email: Option<String>,
}

/// `{"data": [...], "meta": {"pagination": {"next_offset"}}}` of v2 lists.
#[derive(Deserialize)]
struct V2List<'a> {
    #[serde(borrow, default)]
    data: Vec<&'a RawValue>,
    #[serde(default)]
    meta: V2Meta,
}

#[derive(Deserialize, Default)]
struct V2Meta {
    #[serde(default)]
    pagination: V2Pagination,
    #[serde(default)]
    page: CursorPage,
}

#[derive(Deserialize, Default)]
struct V2Pagination {
    next_offset: Option<u64>,
}

#[derive(Deserialize, Default)]
struct CursorPage {
    after: Option<String>,
}

#[derive(Deserialize)]
struct One<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct Dashboards<'a> {
    #[serde(borrow, default)]
    dashboards: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct MonitorSearch<'a> {
    #[serde(borrow, default)]
    monitors: Vec<&'a RawValue>,
    metadata: SearchMetadata,
}

#[derive(Deserialize)]
struct SearchMetadata {
    page: u64,
    page_count: u64,
}

#[derive(Deserialize)]
struct EventEnvelope<'a> {
    #[serde(borrow)]
    event: &'a RawValue,
}

impl DatadogConnector {
    fn monitors(
        &self,
        since: Option<Timestamp>,
        page: &PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        // `id_offset` pages by monitor id: stable while monitors are added.
        let after = TokenCursor::decode(page.cursor.as_deref())?.token;
        if let Some(after) = &after
            && !after.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ConnectorError::InvalidConfig(
                "not a monitors cursor".into(),
            ));
        }
        let response = self
            .datadog
            .get(["v1", "monitor"])
            .query("id_offset", after.as_deref().unwrap_or("0"))
            .query("page_size", limit(page))
            .send()?;
        let raws: Vec<&RawValue> = client::answer(&response)?;
        let mut entries = Vec::with_capacity(raws.len());
        let mut last = None;
        for raw in &raws {
            let monitor: Monitor = decode(raw)?;
            last = Some(monitor.id);
            if since.is_none_or(|since| monitor.modified().is_some_and(|m| m >= since)) {
                entries.push(monitor.item(&self.web, page.raw(raw)));
            }
        }
        let full = raws.len() >= limit(page) as usize;
        let next = last.filter(|_| full).map(|id| id.to_string());
        Ok(ItemPage::new(entries, TokenCursor::next(next.as_deref())))
    }

    fn incidents(
        &self,
        since: Option<Timestamp>,
        page: &PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let at = OffsetCursor::decode(page.cursor.as_deref())?;
        let response = self
            .datadog
            .get(["v2", "incidents"])
            .query("page[size]", limit(page))
            .query("page[offset]", at.start)
            .send()?;
        let list: V2List = client::answer(&response)?;
        let mut entries = Vec::with_capacity(list.data.len());
        for raw in &list.data {
            let incident: Incident = decode(raw)?;
            if since.is_none_or(|since| incident.modified().is_some_and(|m| m >= since)) {
                entries.push(incident.item(&self.web, page.raw(raw)));
            }
        }
        let full = list.data.len() >= limit(page) as usize;
        let next = list
            .meta
            .pagination
            .next_offset
            .filter(|next| full && *next > at.start)
            .map(|next| OffsetCursor { start: next }.next(0));
        Ok(ItemPage::new(entries, next))
    }

    fn dashboards(
        &self,
        since: Option<Timestamp>,
        page: &PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let at = OffsetCursor::decode(page.cursor.as_deref())?;
        let response = self
            .datadog
            .get(["v1", "dashboard"])
            .query("start", at.start)
            .query("count", limit(page))
            .send()?;
        let list: Dashboards = client::answer(&response)?;
        let mut entries = Vec::with_capacity(list.dashboards.len());
        for raw in &list.dashboards {
            let dashboard: Dashboard = decode(raw)?;
            if since.is_none_or(|since| dashboard.modified().is_some_and(|m| m >= since)) {
                entries.push(dashboard.item(&self.web, page.raw(raw)));
            }
        }
        let next = at.next_if_full(list.dashboards.len(), limit(page));
        Ok(ItemPage::new(entries, next))
    }

    /// `POST /api/v2/events/search`, newest first, cursor-paged.
    fn events(
        &self,
        query: &str,
        since: Option<Timestamp>,
        page: &PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let mut paging = json!({"limit": limit(page)});
        if let Some(cursor) = TokenCursor::decode(page.cursor.as_deref())?.token {
            paging["cursor"] = json!(cursor);
        }
        let from = since.map_or_else(|| EVENTS_WINDOW.to_owned(), |t| t.to_string());
        let body = json!({
            "filter": {"query": query, "from": from, "to": "now"},
            "sort": "-timestamp",
            "page": paging,
        });
        let response = self
            .datadog
            .send_json(http::Method::Post, ["v2", "events", "search"], &body)?
            .send()?;
        let list: V2List = client::answer(&response)?;
        let mut entries = Vec::with_capacity(list.data.len());
        for raw in &list.data {
            if let Some(item) = decode::<EventHit>(raw)?.item(&self.web, page.raw(raw)) {
                entries.push(item);
            }
        }
        Ok(ItemPage::new(
            entries,
            TokenCursor::next(list.meta.page.after.as_deref()),
        ))
    }

    fn search_monitors(&self, query: &str, page: &PageRequest) -> Result<ItemPage, ConnectorError> {
        let number: u64 = match TokenCursor::decode(page.cursor.as_deref())?.token {
            None => 0,
            Some(token) => token
                .parse()
                .map_err(|_| ConnectorError::InvalidConfig("not a search cursor".into()))?,
        };
        let response = self
            .datadog
            .get(["v1", "monitor", "search"])
            .query("query", query)
            .query("page", number)
            .query("per_page", limit(page))
            .send()?;
        let found: MonitorSearch = client::answer(&response)?;
        let entries = found
            .monitors
            .iter()
            .map(|raw| Ok(decode::<MonitorHit>(raw)?.item(&self.web, page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        let next = (found.metadata.page + 1 < found.metadata.page_count)
            .then(|| (found.metadata.page + 1).to_string());
        Ok(ItemPage::new(entries, TokenCursor::next(next.as_deref())))
    }

    fn incident_item(&self, response: &Response) -> Result<Item, ConnectorError> {
        let one: One = client::answer(response)?;
        Ok(decode::<Incident>(one.data)?.item(&self.web, Some(one.data)))
    }
}

#[connector_sdk::connector]
impl connector_sdk::Connector for DatadogConnector {
    fn info() -> ConnectorInfo {
        let keys = SITES.iter().fold(
            AuthMethod::multi_part_headers(
                "keys",
                "API key and application key",
                &[
                    ("api_key", "API key", "DD-API-KEY"),
                    ("application_key", "Application key", "DD-APPLICATION-KEY"),
                ],
            ),
            |method, site| method.credential_host(&format!("api.{site}")),
        );
        let builder = ConnectorInfo::builder("datadog", "Datadog")
            .description("Datadog: monitors, incidents and their todos, dashboards, events")
            .auth_method(keys)
            .origin_config_key("api_url")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "site": {"type": "string", "format": "hostname", "enum": SITES,
                        "default": client::DEFAULT_SITE,
                        "description": "The Datadog site of the organisation (API at https://api.<site>)"},
                    "api_url": {"type": "string", "format": "uri",
                        "description": "API origin instead of the site's (a proxy)"}
                }
            }))
            .actions(actions::declared());
        SITES
            .iter()
            .fold(builder, |b, site| b.requested_host(&format!("api.{site}")))
            .build()
    }

    fn validate(config: &Config) -> Result<(), ConnectorError> {
        client::site(config).map(|_| ())
    }

    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            web: web_origin(client::site(connection.config())?),
            datadog: Datadog::new(&connection)?,
        })
    }

    /// `/api/v1/validate` checks the API key; the application keys of the current user check
    /// the application key and name its owner.
    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let response = self.datadog.get(["v1", "validate"]).send()?;
        let validation: Validation = client::answer(&response)?;
        if !validation.valid {
            return Err(ConnectorError::Unauthorized(
                "Datadog: the API key is not valid".into(),
            ));
        }
        let response = self
            .datadog
            .get(["v2", "current_user", "application_keys"])
            .query("page[size]", 1)
            .query("include", "owned_by")
            .send()?;
        let keys: ApplicationKeys = client::answer(&response)?;
        let owner = keys.included.into_iter().find(|i| i.kind == "users");
        let principal = match owner {
            Some(user) => {
                let mut principal = Principal::id(user.id);
                principal.display_name = user.attributes.name.or(user.attributes.handle);
                principal.email = user.attributes.email;
                principal
            }
            None => Principal::id("application-key"),
        };
        Ok(ConnectionInfo::for_principal(principal).discovered("web_url", self.web.clone()))
    }

    /// The four kinds: monitors, incidents, dashboards, events.
    fn containers(
        &self,
        _parent: Option<&str>,
        _page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let entries = KINDS
            .iter()
            .map(|(id, name, description)| {
                let mut container = Container::new(*id, "collection", *name);
                container.description = Some((*description).to_owned());
                container.url = Some(format!("{}/{id}", self.web));
                container
            })
            .collect();
        Ok(ContainerPage::new(entries, None))
    }

    /// Monitors by id (`id_offset`), incidents and dashboards in Datadog's order, events
    /// newest first. `updated_since` filters on each kind's modification time (events: since
    /// when they happened).
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        match container_id {
            "monitors" => self.monitors(updated_since, &page),
            "incidents" => self.incidents(updated_since, &page),
            "dashboards" => self.dashboards(updated_since, &page),
            "events" => self.events("*", updated_since, &page),
            other => Err(ConnectorError::NotFound(format!(
                "Datadog has no container `{}` (monitors, incidents, dashboards, events)",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        match Target::parse(item_id)? {
            Target::Monitor(id) => {
                let response = self.datadog.get(["v1", "monitor", id]).send()?;
                let raw: &RawValue = client::answer(&response)?;
                Ok(decode::<Monitor>(raw)?.item(&self.web, Some(raw)))
            }
            Target::Incident(id) => {
                let response = self.datadog.get(["v2", "incidents", id]).send()?;
                self.incident_item(&response)
            }
            Target::Dashboard(id) => {
                let response = self.datadog.get(["v1", "dashboard", id]).send()?;
                let raw: &RawValue = client::answer(&response)?;
                Ok(decode::<Dashboard>(raw)?.item(&self.web, Some(raw)))
            }
            Target::Event(id) => {
                let response = self.datadog.get(["v1", "events", id]).send()?;
                let envelope: EventEnvelope = client::answer(&response)?;
                Ok(decode::<Event>(envelope.event)?.item(&self.web, Some(envelope.event)))
            }
        }
    }

    /// An incident's todos, oldest first, as Markdown task items.
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let Target::Incident(id) = Target::parse(item_id)? else {
            return Err(ConnectorError::unsupported(
                "Datadog has comments (todos) on incidents only",
            ));
        };
        let response = self
            .datadog
            .get(["v2", "incidents", id, "relationships", "todos"])
            .send()?;
        let list: V2List = client::answer(&response)?;
        let mut todos = list
            .data
            .iter()
            .map(|raw| Ok((decode::<Todo>(raw)?, *raw)))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        todos.sort_by(|(a, _), (b, _)| a.created().cmp(&b.created()).then(a.id.cmp(&b.id)));
        // Datadog returns an incident's todos whole; pages are cut here.
        let (todos, next) = OffsetCursor::page_of(todos, page.cursor.as_deref(), limit(&page))?;
        let entries = todos
            .iter()
            .map(|(todo, raw)| todo.comment(item_id, page.raw(raw)))
            .collect();
        Ok(CommentPage::new(entries, next))
    }

    /// Monitors by Datadog's monitor query (`status:alert service:web`); with the prefix
    /// `events:`, the event stream by Datadog's event query (the last seven days).
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        match query.strip_prefix("events:") {
            Some(events) => self.events(events.trim(), None, &page),
            None => self.search_monitors(query, &page),
        }
    }

    /// In `events`: posts an event (title, body as its text, attributes `tags` comma-separated
    /// and `alert_type`). In `incidents`: declares an incident (title, attribute
    /// `customer_impacted` true/false, default false).
    fn create_item(&self, container_id: &str, new: NewItem) -> Result<Item, ConnectorError> {
        let attribute = |name: &str| {
            new.attributes
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let known: &[&str] = match container_id {
            "events" => &["tags", "alert_type"],
            "incidents" => &["customer_impacted"],
            _ => {
                return Err(ConnectorError::unsupported(
                    "Datadog items are created in `events` or `incidents`",
                ));
            }
        };
        if let Some((name, _)) = new
            .attributes
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown attribute `{name}` (known here: {})",
                known.join(", ")
            )));
        }
        if container_id == "events" {
            let mut event =
                json!({"title": new.title, "text": new.body.clone().unwrap_or_default()});
            if let Some(tags) = attribute("tags") {
                let tags: Vec<&str> = tags
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect();
                event["tags"] = json!(tags);
            }
            if let Some(alert) = attribute("alert_type") {
                event["alert_type"] = json!(alert);
            }
            let response = self
                .datadog
                .send_json(http::Method::Post, ["v1", "events"], &event)?
                .send()?;
            let envelope: EventEnvelope = client::answer(&response)?;
            return Ok(decode::<Event>(envelope.event)?.item(&self.web, Some(envelope.event)));
        }
        let impacted = match attribute("customer_impacted") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConnectorError::InvalidConfig(format!(
                    "customer_impacted is true or false, not `{other}`"
                )));
            }
        };
        let body = json!({"data": {"type": "incidents", "attributes": {
            "title": new.title, "customer_impacted": impacted}}});
        let response = self
            .datadog
            .send_json(http::Method::Post, ["v2", "incidents"], &body)?
            .send()?;
        self.incident_item(&response)
    }

    /// Adds a todo to an incident.
    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let Target::Incident(id) = Target::parse(item_id)? else {
            return Err(ConnectorError::unsupported(
                "Datadog has comments (todos) on incidents only",
            ));
        };
        let body = json!({"data": {"type": "incident_todos",
            "attributes": {"content": new.body, "assignees": []}}});
        let response = self
            .datadog
            .send_json(
                http::Method::Post,
                ["v2", "incidents", id, "relationships", "todos"],
                &body,
            )?
            .send()?;
        let one: One = client::answer(&response)?;
        Ok(decode::<Todo>(one.data)?.comment(item_id, Some(one.data)))
    }

    fn invoke(&self, action: &str, input: Value) -> Result<Value, ConnectorError> {
        actions::invoke(self, action, input)
    }
}
