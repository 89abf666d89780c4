//! Slack connector: conversations (channels, private channels, direct messages) are
//! containers, messages are items, thread replies are comments; search is Slack's message
//! search, which only a user token may run. Web API on slack.com (config `api_url` names
//! another origin), with a pasted bot or user token, or Slack OAuth v2 for a bot or a user token.
//! Events API deliveries report new, edited and deleted messages.

mod client;
mod events;
mod mapping;

use connector_sdk::prelude::*;
use connector_sdk::webhook::{Delivery, Outcome};
use connector_sdk::{ClientAuth, Oauth2};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use client::{ResponseMetadata, Slack};
use mapping::{Conversation, Message, conversation_id, message_parts, message_ts};

/// Scopes a bot token needs: list and read conversations, post messages.
const BOT_SCOPES: [&str; 5] = [
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "chat:write",
];
/// A user token's scopes: the bot's, plus message search.
const USER_SCOPES: &str =
    "channels:read,groups:read,channels:history,groups:history,chat:write,search:read";
/// Largest page Slack serves for cursor-paged methods (it recommends 200 or fewer).
const MAX_PAGE: u32 = 200;
/// Largest page of `search.messages`.
const MAX_SEARCH_PAGE: u32 = 100;

struct SlackConnector {
    slack: Slack,
    /// `https://acme.slack.com/`, learned at connect, for permalinks.
    team_url: Option<String>,
}

/// Slack OAuth v2: comma-separated scopes, no PKCE, client credentials in the form body.
fn oauth(user: bool) -> Oauth2 {
    let mut oauth = Oauth2::endpoints(
        "https://slack.com/oauth/v2/authorize",
        "https://slack.com/api/oauth.v2.access",
    );
    oauth.scope_separator = ",".into();
    oauth.pkce = false;
    oauth.client_auth = ClientAuth::Body;
    if user {
        // User scopes go in `user_scope`; the user token comes back under `authed_user`.
        oauth.extra_authorize_params = vec![("user_scope".into(), USER_SCOPES.into())];
        oauth.token_pointer = Some("/authed_user".into());
    } else {
        oauth.default_scopes = BOT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    }
    oauth
}

#[derive(Deserialize)]
struct AuthTest {
    url: String,
    team: String,
    team_id: String,
    user: String,
    user_id: String,
    bot_id: Option<String>,
}

#[derive(Deserialize)]
struct ConversationsPage<'a> {
    #[serde(borrow)]
    channels: Vec<&'a RawValue>,
    #[serde(default)]
    response_metadata: ResponseMetadata,
}

#[derive(Deserialize)]
struct MessagesPage<'a> {
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
    #[serde(default)]
    response_metadata: ResponseMetadata,
}

#[derive(Deserialize)]
struct Posted<'a> {
    channel: String,
    #[serde(borrow)]
    message: &'a RawValue,
}

#[derive(Deserialize)]
struct SearchAnswer<'a> {
    #[serde(borrow)]
    messages: SearchMatches<'a>,
}

#[derive(Deserialize)]
struct SearchMatches<'a> {
    #[serde(borrow)]
    matches: Vec<&'a RawValue>,
    paging: SearchPaging,
}

#[derive(Deserialize)]
struct SearchPaging {
    page: u32,
    pages: u32,
}

#[derive(Deserialize)]
struct MatchChannel {
    id: String,
}

#[derive(Deserialize)]
struct SearchMatch {
    channel: MatchChannel,
    permalink: Option<String>,
}

fn decode<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ConnectorError::Permanent(format!("unexpected Slack answer: {e}")))
}

/// The vendor cursor of a cursor-paged request.
fn cursor_of(page: &PageRequest) -> Result<Option<String>, ConnectorError> {
    Ok(TokenCursor::decode(page.cursor.as_deref())?.token)
}

impl SlackConnector {
    fn team_url(&self) -> Option<&str> {
        self.team_url.as_deref()
    }

    fn message_text(title: &str, body: Option<&str>) -> String {
        match body {
            Some(body) if !body.trim().is_empty() => format!("{title}\n{body}"),
            _ => title.to_owned(),
        }
    }
}

#[connector_sdk::connector]
impl connector_sdk::Connector for SlackConnector {
    fn info() -> ConnectorInfo {
        ConnectorInfo::builder("slack", "Slack")
            .description(
                "Slack: channels and conversations, messages, thread replies, message search",
            )
            .auth_method(
                AuthMethod::bearer("token", "Bot token (xoxb-) or user token (xoxp-)")
                    .credential_host("slack.com"),
            )
            .auth_method(
                AuthMethod::oauth2("oauth_bot", "Slack app, bot token", oauth(false))
                    .credential_host("slack.com"),
            )
            .auth_method(
                AuthMethod::oauth2(
                    "oauth_user",
                    "Slack app, user token (can search)",
                    oauth(true),
                )
                .credential_host("slack.com"),
            )
            .requested_host("slack.com")
            .origin_config_key("api_url")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "api_url": {"type": "string", "format": "uri",
                        "description": "Web API origin (default https://slack.com; GovSlack https://slack-gov.com)"}
                }
            }))
            .webhooks(events::support())
            .build()
    }

    fn new(connection: Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            slack: Slack::new(&connection)?,
            team_url: connection.value("team_url").map(str::to_owned),
        })
    }

    /// `auth.test`: the token's user (or bot user) and workspace.
    fn connect(&self) -> Result<ConnectionInfo, ConnectorError> {
        let me: AuthTest = self.slack.call(self.slack.get("auth.test"))?;
        let mut principal = Principal::id(me.user_id);
        principal.display_name = Some(me.user);
        let token_kind = if me.bot_id.is_some() { "bot" } else { "user" };
        Ok(ConnectionInfo::for_principal(principal)
            .discovered("team_id", me.team_id)
            .discovered("team", me.team)
            .discovered("team_url", me.url)
            .discovered("token_kind", token_kind))
    }

    /// Public and private channels the token can see, archived ones left out.
    fn containers(
        &self,
        _parent: Option<&str>,
        page: PageRequest,
    ) -> Result<ContainerPage, ConnectorError> {
        let request = self
            .slack
            .get("conversations.list")
            .query("types", "public_channel,private_channel")
            .query("exclude_archived", "true")
            .query("limit", page.limit.clamp(1, MAX_PAGE))
            .query_opt("cursor", cursor_of(&page)?);
        let response = request.send()?;
        let found: ConversationsPage = client::answer(&response)?;
        let entries = found
            .channels
            .iter()
            .map(|raw| Ok(decode::<Conversation>(raw)?.container(self.team_url(), page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(ContainerPage::new(
            entries,
            TokenCursor::next(Some(&found.response_metadata.next_cursor)),
        ))
    }

    /// Messages of a conversation, newest first; `updated_since` becomes Slack's `oldest`
    /// (messages posted since then: Slack's history does not filter by edit time).
    fn items(
        &self,
        container_id: &str,
        updated_since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage, ConnectorError> {
        let channel = conversation_id(container_id)?;
        let request = self
            .slack
            .get("conversations.history")
            .query("channel", channel)
            .query("limit", page.limit.clamp(1, MAX_PAGE))
            .query_opt(
                "oldest",
                updated_since.map(|t| format!("{}.000000", t.unix())),
            )
            .query_opt("cursor", cursor_of(&page)?);
        let response = request.send()?;
        let found: MessagesPage = client::answer(&response)?;
        let entries = found
            .messages
            .iter()
            .map(|raw| Ok(decode::<Message>(raw)?.item(channel, self.team_url(), page.raw(raw))))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(ItemPage::new(
            entries,
            TokenCursor::next(Some(&found.response_metadata.next_cursor)),
        ))
    }

    /// One message, read as Slack documents it: the history at its `ts`, inclusive, limit 1.
    fn item(&self, item_id: &str) -> Result<Item, ConnectorError> {
        let (channel, ts) = message_parts(item_id)?;
        let request = self
            .slack
            .get("conversations.history")
            .query("channel", channel)
            .query("latest", ts)
            .query("inclusive", "true")
            .query("limit", 1);
        let response = request.send()?;
        let found: MessagesPage = client::answer(&response)?;
        for raw in &found.messages {
            let message: Message = decode(raw)?;
            if message.ts == ts {
                return Ok(message.item(channel, self.team_url(), Some(raw)));
            }
        }
        Err(ConnectorError::NotFound(format!(
            "no message {ts} in {channel}"
        )))
    }

    /// Replies in the message's thread, oldest first (the thread's first message left out).
    fn comments(&self, item_id: &str, page: PageRequest) -> Result<CommentPage, ConnectorError> {
        let (channel, ts) = message_parts(item_id)?;
        let request = self
            .slack
            .get("conversations.replies")
            .query("channel", channel)
            .query("ts", ts)
            .query("limit", page.limit.clamp(1, MAX_PAGE))
            .query_opt("cursor", cursor_of(&page)?);
        let response = request.send()?;
        let found: MessagesPage = client::answer(&response)?;
        let mut entries = Vec::with_capacity(found.messages.len());
        for raw in &found.messages {
            let message: Message = decode(raw)?;
            if message.ts != ts {
                entries.push(message.comment(item_id, self.team_url(), page.raw(raw)));
            }
        }
        Ok(CommentPage::new(
            entries,
            TokenCursor::next(Some(&found.response_metadata.next_cursor)),
        ))
    }

    /// `search.messages`, newest first, with Slack's own query syntax (`in:#general`,
    /// `from:@ada`). Slack allows it only with a user token.
    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage, ConnectorError> {
        let number: u32 = match TokenCursor::decode(page.cursor.as_deref())?.token {
            None => 1,
            Some(token) => token
                .parse()
                .map_err(|_| ConnectorError::InvalidConfig("not a search cursor".into()))?,
        };
        let request = self
            .slack
            .get("search.messages")
            .query("query", query)
            .query("sort", "timestamp")
            .query("sort_dir", "desc")
            .query("count", page.limit.clamp(1, MAX_SEARCH_PAGE))
            .query("page", number);
        let response = request.send()?;
        let found: SearchAnswer = client::answer(&response)?;
        let mut entries = Vec::with_capacity(found.messages.matches.len());
        for raw in &found.messages.matches {
            let hit: SearchMatch = decode(raw)?;
            let mut item = decode::<Message>(raw)?.item(
                conversation_id(&hit.channel.id)?,
                self.team_url(),
                page.raw(raw),
            );
            if hit.permalink.is_some() {
                item.url = hit.permalink;
            }
            entries.push(item);
        }
        let paging = &found.messages.paging;
        let next = (paging.page < paging.pages).then(|| (paging.page + 1).to_string());
        Ok(ItemPage::new(entries, TokenCursor::next(next.as_deref())))
    }

    /// Posts a message (`chat.postMessage`): the title, then the body on the next lines.
    fn create_item(&self, container_id: &str, new: NewItem) -> Result<Item, ConnectorError> {
        let channel = conversation_id(container_id)?;
        if let Some((name, _)) = new.attributes.first() {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown attribute `{name}`: a Slack message has only text"
            )));
        }
        let text = Self::message_text(&new.title, new.body.as_deref());
        let request = self.slack.post(
            "chat.postMessage",
            &json!({"channel": channel, "text": text}),
        )?;
        let response = request.send()?;
        let posted: Posted = client::answer(&response)?;
        let message: Message = decode(posted.message)?;
        Ok(message.item(&posted.channel, self.team_url(), Some(posted.message)))
    }

    /// Replies in the message's thread.
    fn create_comment(&self, item_id: &str, new: NewComment) -> Result<Comment, ConnectorError> {
        let (channel, ts) = message_parts(item_id)?;
        let request = self.slack.post(
            "chat.postMessage",
            &json!({"channel": channel, "thread_ts": message_ts(ts)?, "text": new.body}),
        )?;
        let response = request.send()?;
        let posted: Posted = client::answer(&response)?;
        let message: Message = decode(posted.message)?;
        Ok(message.comment(item_id, self.team_url(), Some(posted.message)))
    }

    fn webhook_event(
        _connection: Option<&Connection>,
        delivery: Delivery,
    ) -> Result<Outcome, ConnectorError> {
        events::event(&delivery)
    }
}
