//! Datadog's objects as the unified records. The containers are the kinds an on-call engineer
//! browses (monitors, incidents, dashboards, events); an item's id names its kind
//! (`monitor:123`, `incident:{uuid}`, `dashboard:abc-def-ghi`, `event:123`), checked before
//! any part of it reaches a URL.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// The containers, with a line on each.
pub const KINDS: [(&str, &str, &str); 4] = [
    ("monitors", "Monitors", "Alerting rules and their state"),
    (
        "incidents",
        "Incidents",
        "Declared incidents; their todos are the comments",
    ),
    ("dashboards", "Dashboards", "Dashboards of the organisation"),
    (
        "events",
        "Events",
        "The event stream (the last seven days unless updated_since says otherwise)",
    ),
];

/// What an item id names.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Monitor(&'a str),
    Incident(&'a str),
    Dashboard(&'a str),
    Event(&'a str),
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Incident ids are UUIDs; dashboard ids are `abc-def-ghi`.
fn token(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl<'a> Target<'a> {
    pub fn parse(item_id: &'a str) -> Result<Self, ConnectorError> {
        let parsed = match item_id.split_once(':') {
            Some(("monitor", id)) if digits(id) => Some(Self::Monitor(id)),
            Some(("incident", id)) if token(id, 64) => Some(Self::Incident(id)),
            Some(("dashboard", id)) if token(id, 32) => Some(Self::Dashboard(id)),
            Some(("event", id)) if digits(id) => Some(Self::Event(id)),
            _ => None,
        };
        parsed.ok_or_else(|| {
            ConnectorError::NotFound(format!(
                "`{}` is not a Datadog item id (monitor:<id>, incident:<id>, dashboard:<id>, event:<id>)",
                item_id.chars().take(80).collect::<String>()
            ))
        })
    }
}

/// A monitor id from an action's input: `monitor:123` or `123`.
pub fn monitor_id(text: &str) -> Result<&str, ConnectorError> {
    match Target::parse(text) {
        Ok(Target::Monitor(id)) => Ok(id),
        _ if digits(text) => Ok(text),
        _ => Err(ConnectorError::InvalidConfig(format!(
            "`{text}` is not a monitor id"
        ))),
    }
}

/// An incident id from an action's input: `incident:{id}` or the id.
pub fn incident_id(text: &str) -> Result<&str, ConnectorError> {
    match Target::parse(text) {
        Ok(Target::Incident(id)) => Ok(id),
        _ if token(text, 64) => Ok(text),
        _ => Err(ConnectorError::InvalidConfig(format!(
            "`{text}` is not an incident id"
        ))),
    }
}

fn canonical(text: Option<&str>) -> Option<String> {
    Timestamp::parse(text?).ok().map(|t| t.to_string())
}

fn with_raw(mut item: Item, raw: Option<&RawValue>) -> Item {
    item.raw = raw.map(|r| r.get().to_owned());
    item
}

#[derive(Deserialize)]
pub struct Creator {
    pub email: Option<String>,
    pub handle: Option<String>,
    pub name: Option<String>,
}

impl Creator {
    fn principal(&self) -> Option<Principal> {
        let id = self.handle.clone().or_else(|| self.email.clone())?;
        let mut principal = Principal::id(id);
        principal.display_name = self.name.clone();
        principal.email = self.email.clone();
        Some(principal)
    }
}

/// `/api/v1/monitor` entries and `/api/v1/monitor/{id}`.
#[derive(Deserialize)]
pub struct Monitor {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub query: String,
    pub message: Option<String>,
    pub overall_state: Option<String>,
    pub priority: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub created: Option<String>,
    pub modified: Option<String>,
    pub creator: Option<Creator>,
}

impl Monitor {
    pub fn modified(&self) -> Option<Timestamp> {
        Timestamp::parse(self.modified.as_deref()?).ok()
    }

    pub fn item(&self, web: &str, raw: Option<&RawValue>) -> Item {
        let mut item = Item::new(
            format!("monitor:{}", self.id),
            "monitors",
            "monitor",
            &self.name,
        );
        item.body = Some(
            format!(
                "{}\n\nQuery: `{}`",
                self.message.as_deref().unwrap_or("").trim(),
                self.query
            )
            .trim_start()
            .to_owned(),
        );
        item.body_format = BodyFormat::Markdown;
        item.url = Some(format!("{web}/monitors/{}", self.id));
        item.author = self.creator.as_ref().and_then(Creator::principal);
        item.created_at = canonical(self.created.as_deref());
        item.updated_at = canonical(self.modified.as_deref());
        let mut attributes = vec![("type".to_owned(), self.kind.clone())];
        if let Some(state) = &self.overall_state {
            attributes.push(("state".into(), state.clone()));
        }
        if let Some(priority) = self.priority {
            attributes.push(("priority".into(), format!("P{priority}")));
        }
        if !self.tags.is_empty() {
            attributes.push(("tags".into(), self.tags.join(",")));
        }
        item.attributes = attributes;
        with_raw(item, raw)
    }
}

/// A monitor as `/api/v1/monitor/search` lists it.
#[derive(Deserialize)]
pub struct MonitorHit {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub query: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl MonitorHit {
    pub fn item(&self, web: &str, raw: Option<&RawValue>) -> Item {
        let mut item = Item::new(
            format!("monitor:{}", self.id),
            "monitors",
            "monitor",
            &self.name,
        );
        item.url = Some(format!("{web}/monitors/{}", self.id));
        let attributes = [
            ("state", self.status.clone()),
            ("type", self.kind.clone()),
            ("query", self.query.clone()),
            ("tags", (!self.tags.is_empty()).then(|| self.tags.join(","))),
        ];
        item.attributes = attributes
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect();
        with_raw(item, raw)
    }
}

/// `{"id", "type", "attributes"}` of the v2 API.
#[derive(Deserialize)]
pub struct Resource<A> {
    pub id: String,
    pub attributes: A,
}

#[derive(Deserialize)]
pub struct IncidentAttributes {
    pub title: String,
    pub public_id: Option<i64>,
    pub state: Option<String>,
    pub severity: Option<String>,
    pub customer_impacted: Option<bool>,
    pub created: Option<String>,
    pub modified: Option<String>,
    pub resolved: Option<String>,
    #[serde(default)]
    pub fields: serde_json::Map<String, Value>,
}

pub type Incident = Resource<IncidentAttributes>;

impl Incident {
    pub fn modified(&self) -> Option<Timestamp> {
        Timestamp::parse(self.attributes.modified.as_deref()?).ok()
    }

    /// The state: `fields.state.value` where the incident has custom fields, else `state`.
    pub fn state(&self) -> Option<String> {
        self.attributes
            .fields
            .get("state")
            .and_then(|f| f["value"].as_str())
            .map(str::to_owned)
            .or_else(|| self.attributes.state.clone())
    }

    pub fn item(&self, web: &str, raw: Option<&RawValue>) -> Item {
        let a = &self.attributes;
        let mut item = Item::new(
            format!("incident:{}", self.id),
            "incidents",
            "incident",
            &a.title,
        );
        item.url = Some(match a.public_id {
            Some(number) => format!("{web}/incidents/{number}"),
            None => format!("{web}/incidents"),
        });
        item.created_at = canonical(a.created.as_deref());
        item.updated_at = canonical(a.modified.as_deref());
        let attributes = [
            ("state", self.state()),
            ("severity", a.severity.clone()),
            ("public_id", a.public_id.map(|n| n.to_string())),
            (
                "customer_impacted",
                a.customer_impacted.map(|b| b.to_string()),
            ),
            ("resolved", canonical(a.resolved.as_deref())),
        ];
        item.attributes = attributes
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect();
        with_raw(item, raw)
    }
}

/// A todo on an incident: the incident's comments.
#[derive(Deserialize)]
pub struct TodoAttributes {
    pub content: String,
    pub created: Option<String>,
    pub modified: Option<String>,
    pub completed: Option<String>,
}

pub type Todo = Resource<TodoAttributes>;

impl Todo {
    pub fn created(&self) -> Option<Timestamp> {
        Timestamp::parse(self.attributes.created.as_deref()?).ok()
    }

    pub fn comment(&self, item_id: &str, raw: Option<&RawValue>) -> Comment {
        let a = &self.attributes;
        let done = if a.completed.is_some() { "[x]" } else { "[ ]" };
        let mut comment = Comment::new(&self.id, item_id, format!("- {done} {}", a.content));
        comment.body_format = BodyFormat::Markdown;
        comment.created_at = canonical(a.created.as_deref());
        comment.updated_at = canonical(a.modified.as_deref());
        comment.raw = raw.map(|r| r.get().to_owned());
        comment
    }
}

/// `/api/v1/dashboard` entries and `/api/v1/dashboard/{id}`.
#[derive(Deserialize)]
pub struct Dashboard {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub layout_type: Option<String>,
    pub author_handle: Option<String>,
    pub created_at: Option<String>,
    pub modified_at: Option<String>,
    /// Only `/api/v1/dashboard/{id}` has them.
    pub widgets: Option<Vec<Widget>>,
}

#[derive(Deserialize)]
pub struct Widget {
    #[serde(default)]
    pub definition: Value,
}

impl Dashboard {
    pub fn modified(&self) -> Option<Timestamp> {
        Timestamp::parse(self.modified_at.as_deref()?).ok()
    }

    /// The description, then the widgets by title and type.
    fn body(&self) -> Option<String> {
        let widgets = self.widgets.as_ref()?;
        let mut body = self.description.clone().unwrap_or_default();
        if !widgets.is_empty() {
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            body.push_str("Widgets:\n");
            for widget in widgets {
                let kind = widget.definition["type"].as_str().unwrap_or("widget");
                let title = widget.definition["title"].as_str().unwrap_or("").trim();
                body.push_str(&format!(
                    "- {} ({kind})\n",
                    if title.is_empty() { "untitled" } else { title }
                ));
            }
        }
        Some(body.trim_end().to_owned())
    }

    pub fn item(&self, web: &str, raw: Option<&RawValue>) -> Item {
        let mut item = Item::new(
            format!("dashboard:{}", self.id),
            "dashboards",
            "dashboard",
            &self.title,
        );
        item.body = self.body();
        item.body_format = BodyFormat::Markdown;
        item.url = self.url.as_ref().map(|path| format!("{web}{path}"));
        item.author = self.author_handle.clone().map(Principal::id);
        item.created_at = canonical(self.created_at.as_deref());
        item.updated_at = canonical(self.modified_at.as_deref());
        if let Some(layout) = &self.layout_type {
            item.attributes.push(("layout_type".into(), layout.clone()));
        }
        with_raw(item, raw)
    }
}

/// An event of `/api/v1/events/{id}` or `POST /api/v1/events`.
#[derive(Deserialize)]
pub struct Event {
    pub id: i64,
    #[serde(default)]
    pub title: String,
    pub text: Option<String>,
    pub date_happened: Option<i64>,
    pub url: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    pub alert_type: Option<String>,
}

impl Event {
    pub fn item(&self, web: &str, raw: Option<&RawValue>) -> Item {
        let mut item = Item::new(format!("event:{}", self.id), "events", "event", &self.title);
        item.body = self.text.clone();
        item.body_format = BodyFormat::Markdown;
        item.url = Some(match &self.url {
            Some(path) if path.starts_with('/') => format!("{web}{path}"),
            Some(url) => url.clone(),
            None => format!("{web}/event/event?id={}", self.id),
        });
        let happened = self
            .date_happened
            .map(|t| Timestamp::from_unix(t).to_string());
        item.created_at = happened.clone();
        item.updated_at = happened;
        if let Some(tags) = self.tags.as_ref().filter(|t| !t.is_empty()) {
            item.attributes.push(("tags".into(), tags.join(",")));
        }
        if let Some(alert) = &self.alert_type {
            item.attributes.push(("alert_type".into(), alert.clone()));
        }
        with_raw(item, raw)
    }
}

/// An event as `POST /api/v2/events/search` lists it; the v1 event is under `attributes.evt`.
#[derive(Deserialize)]
pub struct EventHit {
    pub attributes: EventHitAttributes,
}

#[derive(Deserialize)]
pub struct EventHitAttributes {
    pub message: Option<String>,
    pub timestamp: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub attributes: EventHitInner,
}

#[derive(Deserialize, Default)]
pub struct EventHitInner {
    pub title: Option<String>,
    pub evt: Option<Evt>,
}

#[derive(Deserialize)]
pub struct Evt {
    pub id: String,
}

impl EventHit {
    /// `None` for an event without a v1 id (it could not be read back).
    pub fn item(&self, web: &str, raw: Option<&RawValue>) -> Option<Item> {
        let a = &self.attributes;
        let id = a
            .attributes
            .evt
            .as_ref()
            .map(|e| e.id.as_str())
            .filter(|id| digits(id))?;
        let title = a.attributes.title.clone().unwrap_or_default();
        let mut item = Item::new(format!("event:{id}"), "events", "event", title);
        item.body = a.message.clone();
        item.body_format = BodyFormat::Markdown;
        item.url = Some(format!("{web}/event/event?id={id}"));
        item.created_at = canonical(a.timestamp.as_deref());
        item.updated_at = item.created_at.clone();
        if !a.tags.is_empty() {
            item.attributes.push(("tags".into(), a.tags.join(",")));
        }
        Some(with_raw(item, raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_kind_and_are_checked() {
        assert_eq!(Target::parse("monitor:42").unwrap(), Target::Monitor("42"));
        assert_eq!(
            Target::parse("incident:00000000-0000-0000-4567-000000000000").unwrap(),
            Target::Incident("00000000-0000-0000-4567-000000000000")
        );
        assert_eq!(
            Target::parse("dashboard:abc-def-ghi").unwrap(),
            Target::Dashboard("abc-def-ghi")
        );
        for bad in [
            "42",
            "monitor:",
            "monitor:4a",
            "incident:../x",
            "dashboard:a/b",
            "event:1?x=2",
            "widget:1",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(ConnectorError::NotFound(_))),
                "{bad}"
            );
        }
        assert_eq!(monitor_id("monitor:7").unwrap(), "7");
        assert_eq!(monitor_id("7").unwrap(), "7");
        assert!(monitor_id("7; DROP").is_err());
    }
}
