//! Salesforce connector (REST API): queryable sObject types are containers (standard ones such
//! as Account, Contact, Case, Opportunity and Lead, and custom `__c` objects), their records
//! are items (SOQL, most recently modified first, paged by `nextRecordsUrl`), a record's
//! Chatter feed is its comments (a case's are its case comments), and search is SOSL. Creates
//! and updates write records. Connects through Salesforce OAuth (web-server flow with PKCE);
//! the token response's `instance_url` becomes the connection's origin.

mod client;
mod mapping;
mod soql;

use connector_sdk::Oauth2;
use connector_sdk::config::Config;
use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use client::Salesforce;
use mapping::{FeedElement, ObjectType, Record, item_parts};
use soql::{identifier, record_id, title_field};

/// Largest page of containers or comments served.
const MAX_PAGE: u32 = 100;
/// Salesforce's smallest query batch (`Sforce-Query-Options: batchSize`), asked for when a
/// result is read in batches (case comments, a batch that came back unfinished).
const MIN_BATCH: u32 = 200;

struct SalesforceConnector {
    salesforce: Salesforce,
    /// The org's own origin, where people open records.
    web: String,
    user_id: Option<String>,
}

/// The web-server flow at login.salesforce.com (an operator points `[oauth.salesforce]` at
/// `test.salesforce.com` or a My Domain): PKCE, the client secret in the body, scopes `api`
/// and `refresh_token`; `instance_url` and the identity URL `id` kept from the response.
fn oauth() -> Oauth2 {
    let mut oauth = Oauth2::endpoints(
        "https://login.salesforce.com/services/oauth2/authorize",
        "https://login.salesforce.com/services/oauth2/token",
    );
    oauth.revoke_url = Some("https://login.salesforce.com/services/oauth2/revoke".into());
    oauth.default_scopes = vec!["api".into(), "refresh_token".into()];
    oauth.response_values = vec!["id".into()];
    oauth.origin_from_response("instance_url")
}

fn decode<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ConnectorError::Permanent(format!("unexpected Salesforce answer: {e}")))
}

#[derive(Deserialize)]
struct ObjectList<'a> {
    #[serde(borrow)]
    sobjects: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryResult<'a> {
    #[serde(borrow, default)]
    records: Vec<&'a RawValue>,
    #[serde(default)]
    done: bool,
    next_records_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchResult<'a> {
    #[serde(borrow, default)]
    search_records: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedPage<'a> {
    #[serde(borrow, default)]
    elements: Vec<&'a RawValue>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Saved {
    id: String,
    #[serde(default)]
    success: bool,
}

/// The user id at the end of the identity URL (`https://login.salesforce.com/id/{org}/{user}`).
fn identity(id_url: &str) -> Option<(&str, &str)> {
    let mut parts = id_url.rsplit('/');
    let user = parts.next().and_then(|u| record_id(u).ok())?;
    let org = parts.next().and_then(|o| record_id(o).ok())?;
    Some((org, user))
}

/// Record fields from a create or update: the title into the object's title field, the body
/// into `Description`, attributes as fields by API name.
fn fields(
    object: &str,
    title: Option<&str>,
    body: Option<&str>,
    attributes: &[(String, String)],
) -> Result<Map<String, Value>, ConnectorError> {
    let mut fields = Map::new();
    if let Some(title) = title {
        fields.insert(title_field(object).into(), json!(title));
    }
    if let Some(body) = body {
        fields.insert("Description".into(), json!(body));
    }
    for (name, value) in attributes {
        let name = identifier(name).map_err(|_| {
            ConnectorError::InvalidConfig(format!("`{name}` is not a field API name"))
        })?;
        fields.insert(name.to_owned(), json!(value));
    }
    Ok(fields)
}

impl SalesforceConnector {
    fn query(
        &self,
        soql: &str,
        cursor: Option<&str>,
        batch: u32,
    ) -> Result<Response, ConnectorError> {
        let request = match cursor {
            Some(next) => self.salesforce.next_records(next)?,
            None => self.salesforce.get(["query"]).query("q", soql),
        };
        request
            .header("Sforce-Query-Options", &format!("batchSize={batch}"))
            .send()
    }

    fn read_record(&self, object: &str, id: &str) -> Result<Item, ConnectorError> {
        let response = self.salesforce.get(["sobjects", object, id]).send()?;
        let raw: &RawValue = client::answer(&response)?;
        Ok(decode::<Record>(raw)?.item(&self.web, true, Some(raw)))
    }
}

#[connector_sdk::connector]
impl connector_sdk::Connector for SalesforceConnector {
    fn info() -> ConnectorInfo {
        ConnectorInfo::builder("salesforce", "Salesforce")
            .description("Salesforce: sObject types, records by SOQL, Chatter feeds and case comments, SOSL search, create and update")
            .auth_method(
                AuthMethod::oauth2("oauth", "Salesforce (OAuth web-server flow)", oauth())
                    .credential_host("*.salesforce.com"),
            )
            .requested_host("*.salesforce.com")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "api_version": {"type": "string", "pattern": "^v?[0-9]{1,3}\\.0$",
                        "default": client::DEFAULT_VERSION,
                        "description": "REST API version (default 66.0, Spring '26)"}
                }
            }))
            .build()
    }

    fn validate(config: &Config) -> Result<(), ConnectorError> {
        client::api_version(config).map(|_| ())
    }

    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        let salesforce = Salesforce::new(&connection)?;
        Ok(Self {
            web: connection
                .origin()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            user_id: connection
                .value("id")
                .and_then(identity)
                .map(|(_, user)| user.to_owned()),
            salesforce,
        })
    }

    /// The user of the identity URL the token response named, read as a `User` record.
    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let user = self.user_id.as_deref().ok_or_else(|| {
            ConnectorError::InvalidConfig("the token response named no identity URL".into())
        })?;
        let response = self.salesforce.get(["sobjects", "User", user]).send()?;
        let record: Record = client::answer(&response)?;
        let mut principal = Principal::id(record.id.clone());
        principal.display_name = record
            .fields
            .get("Name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        principal.email = record
            .fields
            .get("Email")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(ConnectionInfo::for_principal(principal).discovered("instance_url", self.web.clone()))
    }

    /// Queryable standard objects and custom objects, by API name.
    fn containers(
        &self,
        _parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let response = self.salesforce.get(["sobjects"]).send()?;
        let list: ObjectList = client::answer(&response)?;
        let mut offered = Vec::new();
        for raw in list.sobjects {
            let object: ObjectType = decode(raw)?;
            if object.offered() {
                offered.push((object, raw));
            }
        }
        offered.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
        let limit = page.limit.clamp(1, MAX_PAGE);
        let (offered, next) = OffsetCursor::page_of(offered, page.cursor.as_deref(), limit)?;
        let entries = offered
            .iter()
            .map(|(object, raw)| object.container(&self.web, page.raw(raw)))
            .collect();
        Ok(ContainerPage::new(entries, next))
    }

    /// Records by SOQL, most recently modified first; `updated_since` becomes
    /// `LastModifiedDate >=`. A page is `LIMIT`ed to the page size and the next one starts after
    /// its last record (`LastModifiedDate, Id`), since Salesforce's own batches
    /// (`nextRecordsUrl`) are at least 200 records, more than a page here; a batch that does
    /// come back unfinished is followed by its `nextRecordsUrl`.
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let token = TokenCursor::decode(page.cursor.as_deref())?.token;
        let (after, follow) = match token.as_deref() {
            Some(next) if next.starts_with('/') => (None, Some(next)),
            Some(cursor) => (Some(soql::After::decode(cursor)?), None),
            None => (None, None),
        };
        let statement = soql::records(container_id, updated_since, after.as_ref(), limit)?;
        let response = self.query(&statement, follow, MIN_BATCH)?;
        let result: QueryResult = client::answer(&response)?;
        let mut entries = Vec::with_capacity(result.records.len());
        let mut last = None;
        for raw in &result.records {
            let record: Record = decode(raw)?;
            last = record
                .fields
                .get("LastModifiedDate")
                .and_then(Value::as_str)
                .and_then(|m| soql::After::cursor(m, &record.id));
            entries.push(record.item(&self.web, false, page.raw(raw)));
        }
        let next = match (result.done, result.next_records_url) {
            (false, Some(url)) => Some(url),
            _ if entries.len() >= limit as usize => last,
            _ => None,
        };
        Ok(ItemPage::new(entries, TokenCursor::next(next.as_deref())))
    }

    /// `/sobjects/{type}/{id}`: every field; `Description` is the body.
    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        let (object, id) = item_parts(item_id)?;
        self.read_record(object, id)
    }

    /// A case's comments (`CaseComment`, oldest first); for other records, their Chatter feed
    /// (newest first, as Chatter serves it).
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let (object, id) = item_parts(item_id)?;
        let cursor = TokenCursor::decode(page.cursor.as_deref())?.token;
        if object == "Case" {
            let response = self.query(&soql::case_comments(id)?, cursor.as_deref(), MIN_BATCH)?;
            let result: QueryResult = client::answer(&response)?;
            let entries = result
                .records
                .iter()
                .map(|raw| Ok(decode::<Record>(raw)?.case_comment(item_id, page.raw(raw))))
                .collect::<Result<Vec<_>, ConnectorError>>()?;
            let next = if result.done {
                None
            } else {
                result.next_records_url
            };
            return Ok(CommentPage::new(
                entries,
                TokenCursor::next(next.as_deref()),
            ));
        }
        let response = self
            .salesforce
            .get(["chatter", "feeds", "record", id, "feed-elements"])
            .query("pageSize", page.limit.clamp(1, MAX_PAGE))
            .query_opt("pageParam", cursor.as_deref())
            .send()?;
        let feed: FeedPage = client::answer(&response)?;
        let entries = feed
            .elements
            .iter()
            .map(|raw| Ok(decode::<FeedElement>(raw)?.comment(item_id, &self.web, page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(CommentPage::new(
            entries,
            TokenCursor::next(feed.next_page_token.as_deref()),
        ))
    }

    /// SOSL over accounts, contacts, leads, opportunities and cases; the text is searched as
    /// words (SOSL's operators are escaped, not interpreted).
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let sosl = soql::search(query, page.limit.clamp(1, MAX_PAGE))?;
        let response = self.salesforce.get(["search"]).query("q", &sosl).send()?;
        let result: SearchResult = client::answer(&response)?;
        let entries = result
            .search_records
            .iter()
            .map(|raw| Ok(decode::<Record>(raw)?.item(&self.web, false, page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(ItemPage::new(entries, None))
    }

    /// `POST /sobjects/{type}`, then the record read back.
    fn create_item(&self, container_id: &str, new: NewItem) -> Result<Item, ConnectorError> {
        let object = identifier(container_id)?;
        let body = fields(
            object,
            Some(&new.title),
            new.body.as_deref(),
            &new.attributes,
        )?;
        let response = self
            .salesforce
            .send_json(http::Method::Post, ["sobjects", object], &body)?
            .send()?;
        let saved: Saved = client::answer(&response)?;
        if !saved.success {
            return Err(ConnectorError::Permanent(
                "Salesforce did not save the record".into(),
            ));
        }
        self.read_record(object, record_id(&saved.id)?)
    }

    /// `PATCH /sobjects/{type}/{id}` with the fields given, then the record read back.
    fn update_item(&self, item_id: &str, patch: ItemPatch) -> Result<Item, ConnectorError> {
        let (object, id) = item_parts(item_id)?;
        let body = fields(
            object,
            patch.title.as_deref(),
            patch.body.as_deref(),
            &patch.attributes,
        )?;
        if body.is_empty() {
            return Err(ConnectorError::InvalidConfig("nothing to change".into()));
        }
        let response = self
            .salesforce
            .send_json(http::Method::Patch, ["sobjects", object, id], &body)?
            .send()?;
        client::check(&response)?;
        self.read_record(object, id)
    }

    /// A case comment on a case; a Chatter post on the record's feed otherwise.
    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let (object, id) = item_parts(item_id)?;
        if new.body.trim().is_empty() {
            return Err(ConnectorError::InvalidConfig(
                "a comment needs some text".into(),
            ));
        }
        if object == "Case" {
            let response = self
                .salesforce
                .send_json(
                    http::Method::Post,
                    ["sobjects", "CaseComment"],
                    &json!({"ParentId": id, "CommentBody": new.body}),
                )?
                .send()?;
            let saved: Saved = client::answer(&response)?;
            let response = self
                .salesforce
                .get(["sobjects", "CaseComment", record_id(&saved.id)?])
                .send()?;
            let raw: &RawValue = client::answer(&response)?;
            return Ok(decode::<Record>(raw)?.case_comment(item_id, Some(raw)));
        }
        let post = json!({
            "feedElementType": "FeedItem",
            "subjectId": id,
            "body": {"messageSegments": [{"type": "Text", "text": new.body}]},
        });
        let response = self
            .salesforce
            .send_json(http::Method::Post, ["chatter", "feed-elements"], &post)?
            .send()?;
        let raw: &RawValue = client::answer(&response)?;
        Ok(decode::<FeedElement>(raw)?.comment(item_id, &self.web, Some(raw)))
    }
}
