//! Slack's JSON, as much as the unified records need, and the ids this connector hands out: a
//! conversation is its Slack id (`C0123ABCD`), a message `{conversation}:{ts}`
//! (`C0123ABCD:1763985600.000200`), a thread reply's comment id its own `ts`.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Longest title cut from a message's first line.
const TITLE_CHARS: usize = 80;

#[derive(Deserialize)]
pub struct Topic {
    #[serde(default)]
    pub value: String,
}

#[derive(Deserialize)]
pub struct Conversation {
    pub id: String,
    /// Absent for direct messages.
    pub name: Option<String>,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default)]
    pub is_im: bool,
    #[serde(default)]
    pub is_mpim: bool,
    #[serde(default)]
    pub is_archived: bool,
    pub purpose: Option<Topic>,
    pub topic: Option<Topic>,
    pub num_members: Option<u64>,
    /// The other member of a direct message.
    pub user: Option<String>,
}

impl Conversation {
    pub fn container(&self, team_url: Option<&str>, raw: Option<&RawValue>) -> Container {
        let kind = if self.is_im {
            "im"
        } else if self.is_mpim {
            "mpim"
        } else if self.is_private {
            "private_channel"
        } else {
            "channel"
        };
        let name = match (&self.name, &self.user) {
            (Some(name), _) if !self.is_im => format!("#{name}"),
            (_, Some(user)) => format!("@{user}"),
            _ => self.id.clone(),
        };
        let mut container = Container::new(&self.id, kind, name);
        container.description = [&self.purpose, &self.topic]
            .into_iter()
            .flatten()
            .map(|t| t.value.clone())
            .find(|v| !v.is_empty());
        container.url = team_url.map(|team| format!("{team}archives/{}", self.id));
        container.attributes = vec![("archived".into(), self.is_archived.to_string())];
        if let Some(members) = self.num_members {
            container
                .attributes
                .push(("members".into(), members.to_string()));
        }
        container.raw = raw.map(|r| r.get().to_owned());
        container
    }
}

#[derive(Deserialize)]
pub struct Edited {
    pub ts: String,
}

#[derive(Deserialize)]
pub struct Message {
    pub ts: String,
    #[serde(default)]
    pub text: String,
    /// The author; bots post with `bot_id` instead.
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub thread_ts: Option<String>,
    pub reply_count: Option<u64>,
    pub edited: Option<Edited>,
    pub subtype: Option<String>,
}

impl Message {
    /// Whether this is a reply inside a thread (not the thread's first message).
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_ref().is_some_and(|t| *t != self.ts)
    }

    fn author(&self) -> Option<Principal> {
        self.user
            .as_ref()
            .or(self.bot_id.as_ref())
            .map(|id| Principal::id(id.clone()))
    }

    fn times(&self) -> (Option<String>, Option<String>) {
        let created = ts_time(&self.ts);
        let updated = self.edited.as_ref().and_then(|e| ts_time(&e.ts));
        (created.clone(), updated.or(created))
    }

    /// The message as an item of `channel`.
    pub fn item(&self, channel: &str, team_url: Option<&str>, raw: Option<&RawValue>) -> Item {
        let first_line = self.text.lines().next().unwrap_or_default().trim();
        let title: String = if first_line.is_empty() {
            "(no text)".into()
        } else {
            first_line.chars().take(TITLE_CHARS).collect()
        };
        let mut item = Item::new(message_id(channel, &self.ts), channel, "message", title);
        item.body = Some(self.text.clone());
        item.author = self.author();
        (item.created_at, item.updated_at) = self.times();
        item.url = team_url.map(|team| permalink(team, channel, &self.ts, None));
        item.attributes = vec![("ts".into(), self.ts.clone())];
        if let Some(replies) = self.reply_count {
            item.attributes
                .push(("reply_count".into(), replies.to_string()));
        }
        if let Some(subtype) = &self.subtype {
            item.attributes.push(("subtype".into(), subtype.clone()));
        }
        item.raw = raw.map(|r| r.get().to_owned());
        item
    }

    /// The message as a reply (comment) on the thread `item_id` started.
    pub fn comment(
        &self,
        item_id: &str,
        team_url: Option<&str>,
        raw: Option<&RawValue>,
    ) -> Comment {
        let mut comment = Comment::new(&self.ts, item_id, self.text.clone());
        comment.author = self.author();
        (comment.created_at, comment.updated_at) = self.times();
        if let (Some(team), Ok((channel, thread))) = (team_url, message_parts(item_id)) {
            comment.url = Some(permalink(team, channel, &self.ts, Some(thread)));
        }
        comment.raw = raw.map(|r| r.get().to_owned());
        comment
    }
}

/// `https://acme.slack.com/archives/C1/p1763985600000200`, with the thread for replies.
fn permalink(team_url: &str, channel: &str, ts: &str, thread: Option<&str>) -> String {
    let mut link = format!("{team_url}archives/{channel}/p{}", ts.replace('.', ""));
    if let Some(thread) = thread {
        link.push_str(&format!("?thread_ts={thread}&cid={channel}"));
    }
    link
}

/// RFC 3339 of a Slack `ts` (`1763985600.000200`: seconds, then a per-second sequence).
pub fn ts_time(ts: &str) -> Option<String> {
    let seconds: i64 = ts.split('.').next()?.parse().ok()?;
    Some(Timestamp::from_unix(seconds).to_string())
}

pub fn message_id(channel: &str, ts: &str) -> String {
    format!("{channel}:{ts}")
}

/// A conversation id, checked to be one (it becomes a query parameter and a JSON field).
pub fn conversation_id(id: &str) -> Result<&str, ConnectorError> {
    let valid = (2..=24).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if valid {
        Ok(id)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{id}` is not a Slack conversation id"
        )))
    }
}

/// A message `ts`: digits, a dot, digits.
pub fn message_ts(ts: &str) -> Result<&str, ConnectorError> {
    let valid = ts.split_once('.').is_some_and(|(s, f)| {
        !s.is_empty()
            && s.len() <= 12
            && !f.is_empty()
            && f.len() <= 8
            && s.chars().chain(f.chars()).all(|c| c.is_ascii_digit())
    });
    if valid {
        Ok(ts)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{ts}` is not a Slack message timestamp"
        )))
    }
}

/// `(conversation, ts)` of a message id.
pub fn message_parts(id: &str) -> Result<(&str, &str), ConnectorError> {
    let (channel, ts) = id.split_once(':').ok_or_else(|| {
        ConnectorError::NotFound(format!(
            "`{id}` is not a Slack message id (conversation:ts)"
        ))
    })?;
    Ok((conversation_id(channel)?, message_ts(ts)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_times_read_from_ts() {
        assert_eq!(
            message_parts("C0123ABCD:1763985600.000200").unwrap(),
            ("C0123ABCD", "1763985600.000200")
        );
        for bad in [
            "C01",
            "c01:1.2",
            "C01:1",
            "C01:1.x",
            "C01:../1.2",
            "C01:1.2&x=1",
        ] {
            assert!(message_parts(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ts_time("1763985600.000200").as_deref(),
            Some("2025-11-24T12:00:00Z")
        );
    }

    #[test]
    fn replies_are_told_from_thread_starters() {
        let reply: Message = serde_json::from_str(
            r#"{"ts":"1763985700.000100","thread_ts":"1763985600.000200","text":"Agreed","user":"U1"}"#,
        )
        .unwrap();
        assert!(reply.is_reply());
        let comment = reply.comment(
            "C01:1763985600.000200",
            Some("https://acme.slack.com/"),
            None,
        );
        assert_eq!(
            comment.url.as_deref(),
            Some(
                "https://acme.slack.com/archives/C01/p1763985700000100?thread_ts=1763985600.000200&cid=C01"
            )
        );
        let starter: Message = serde_json::from_str(
            r#"{"ts":"1763985600.000200","thread_ts":"1763985600.000200","reply_count":2,"text":"Deploy at 5?\nDetails inside","user":"U2"}"#,
        )
        .unwrap();
        assert!(!starter.is_reply());
        let item = starter.item("C01", None, None);
        assert_eq!(item.title, "Deploy at 5?");
        assert_eq!(item.id, "C01:1763985600.000200");
    }
}
