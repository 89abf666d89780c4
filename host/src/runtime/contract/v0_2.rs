//! Serves plugins built against the frozen `connector:plugin@0.2.0` (and, through
//! `v0_1`, 0.1.0, whose `types` are 0.2.0's): their imports delegate to the 0.3.0
//! implementations, they read their connection through the `config` import that 0.3.0 replaced
//! with a per-call context, and what they export is lifted into 0.3.0 types. Arguments go the
//! other way, lowered from 0.3.0 types.

use super::super::call_state::CallState;
use super::bindings::wit;
use super::bindings::wit_v0_2::connector::plugin::{config, http, log, manifest, types};

impl types::Host for CallState {}
impl manifest::Host for CallState {}

super::older_imports::serve_older_http_and_log!();

/// Before 0.3.0 a plugin read its connection through these imports; the host answers from the
/// call's context (config and connection values together, as 0.2.0 plugins expect).
impl config::Host for CallState {
    async fn get(&mut self, key: String) -> Option<String> {
        self.config
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    async fn get_all(&mut self) -> Vec<(String, String)> {
        self.config.clone()
    }

    async fn auth_method(&mut self) -> Option<String> {
        self.auth_method.clone()
    }
}

/// A 0.2.0 manifest in 0.3.0 terms: no actions, no webhooks, OAuth with RFC 6749 defaults.
pub(crate) fn connector_info(info: manifest::ConnectorInfo) -> wit::ConnectorInfo {
    wit::ConnectorInfo {
        id: info.id,
        display_name: info.display_name,
        version: info.version,
        description: info.description,
        auth_methods: info.auth_methods.into_iter().map(auth_method).collect(),
        requested_hosts: info.requested_hosts,
        origin_config_key: info.origin_config_key,
        config_schema: info.config_schema,
        operations: info.operations.into_iter().map(operation).collect(),
        actions: Vec::new(),
        webhooks: None,
    }
}

pub(crate) fn connection_info(info: manifest::ConnectionInfo) -> wit::ConnectionInfo {
    wit::ConnectionInfo {
        principal: info.principal.into(),
        discovered_values: info.discovered_config,
    }
}

fn auth_method(method: manifest::AuthMethod) -> wit::AuthMethod {
    use wit::{CredentialKind, CredentialPlacement};
    wit::AuthMethod {
        id: method.id,
        label: method.label,
        kind: match method.kind {
            manifest::CredentialKind::Basic => CredentialKind::Basic,
            manifest::CredentialKind::Bearer => CredentialKind::Bearer,
            manifest::CredentialKind::ApiKey => CredentialKind::ApiKey,
            manifest::CredentialKind::Oauth2(oauth) => CredentialKind::Oauth2(oauth2(oauth)),
        },
        placement: match method.placement {
            manifest::CredentialPlacement::Basic => CredentialPlacement::Basic,
            manifest::CredentialPlacement::Bearer => CredentialPlacement::Bearer,
            manifest::CredentialPlacement::Header(name) => CredentialPlacement::Header(name),
            manifest::CredentialPlacement::Query(name) => CredentialPlacement::Query(name),
        },
        credential_hosts: method.credential_hosts,
    }
}

fn oauth2(oauth: manifest::Oauth2) -> wit::Oauth2 {
    wit::Oauth2 {
        authorize_url: oauth.authorize_url,
        token_url: oauth.token_url,
        refresh_url: None,
        revoke_url: oauth.revoke_url,
        default_scopes: oauth.default_scopes,
        scope_separator: " ".into(),
        extra_authorize_params: oauth.extra_authorize_params,
        pkce: oauth.pkce,
        client_auth: match oauth.client_auth {
            manifest::ClientAuth::Body => wit::ClientAuth::Body,
            manifest::ClientAuth::Basic => wit::ClientAuth::Basic,
        },
        token_request_format: wit::TokenRequestFormat::Form,
        token_pointer: None,
        response_values: Vec::new(),
        origin_from_response: None,
    }
}

fn operation(operation: manifest::Operation) -> wit::Operation {
    use wit::Operation as Current;
    match operation {
        manifest::Operation::Containers => Current::Containers,
        manifest::Operation::Items => Current::Items,
        manifest::Operation::Item => Current::Item,
        manifest::Operation::Comments => Current::Comments,
        manifest::Operation::Search => Current::Search,
        manifest::Operation::CreateItem => Current::CreateItem,
        manifest::Operation::CreateComment => Current::CreateComment,
        manifest::Operation::UpdateItem => Current::UpdateItem,
    }
}

/// Lifts 0.2.0 results into 0.3.0 and lowers 0.3.0 arguments into 0.2.0, one record at a time:
/// the records are the same field for field, except 0.3.0's item page, which adds tombstones.
macro_rules! same_record {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl From<types::$name> for wit::$name {
            fn from(value: types::$name) -> Self {
                Self { $($field: Convert::convert(value.$field)),* }
            }
        }
        impl From<wit::$name> for types::$name {
            fn from(value: wit::$name) -> Self {
                Self { $($field: Convert::convert(value.$field)),* }
            }
        }
    };
}

/// Field-wise conversion: identity for plain data, `From` for records, element-wise for
/// lists and options.
trait Convert<T> {
    fn convert(self) -> T;
}

macro_rules! identity {
    ($($t:ty),*) => { $(impl Convert<$t> for $t { fn convert(self) -> $t { self } })* };
}
identity!(String, u32, u64, Vec<(String, String)>);

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Option<B> {
        self.map(Convert::convert)
    }
}

macro_rules! via_from {
    ($($name:ident),*) => {$(
        impl Convert<wit::$name> for types::$name { fn convert(self) -> wit::$name { self.into() } }
        impl Convert<types::$name> for wit::$name { fn convert(self) -> types::$name { self.into() } }
        impl Convert<Vec<wit::$name>> for Vec<types::$name> {
            fn convert(self) -> Vec<wit::$name> { self.into_iter().map(Into::into).collect() }
        }
        impl Convert<Vec<types::$name>> for Vec<wit::$name> {
            fn convert(self) -> Vec<types::$name> { self.into_iter().map(Into::into).collect() }
        }
    )*};
}
via_from!(Principal, Container, Item, Comment, BodyFormat, RateLimit);

same_record!(Principal {
    id,
    display_name,
    email
});
// Contracts before 0.3.0 have no `include-raw`: their connectors always fill `raw`, and the
// host drops it when the client did not ask for it.
impl From<wit::PageRequest> for types::PageRequest {
    fn from(value: wit::PageRequest) -> Self {
        Self {
            cursor: value.cursor,
            limit: value.limit,
        }
    }
}
same_record!(Container {
    id,
    parent_id,
    kind,
    name,
    description,
    url,
    attributes,
    raw
});
same_record!(Item {
    id,
    container_id,
    kind,
    title,
    body,
    body_format,
    url,
    author,
    created_at,
    updated_at,
    attributes,
    raw
});
same_record!(Comment {
    id,
    item_id,
    body,
    body_format,
    author,
    created_at,
    updated_at,
    url,
    raw
});
same_record!(ContainerPage {
    entries,
    next_cursor
});
same_record!(CommentPage {
    entries,
    next_cursor
});
same_record!(NewItem {
    title,
    body,
    body_format,
    attributes
});
same_record!(ItemPatch {
    title,
    body,
    body_format,
    attributes
});
same_record!(NewComment { body, body_format });
same_record!(RateLimit {
    retry_after_ms,
    message
});

impl From<types::BodyFormat> for wit::BodyFormat {
    fn from(value: types::BodyFormat) -> Self {
        match value {
            types::BodyFormat::Plain => Self::Plain,
            types::BodyFormat::Markdown => Self::Markdown,
            types::BodyFormat::Html => Self::Html,
        }
    }
}

impl From<wit::BodyFormat> for types::BodyFormat {
    fn from(value: wit::BodyFormat) -> Self {
        match value {
            wit::BodyFormat::Plain => Self::Plain,
            wit::BodyFormat::Markdown => Self::Markdown,
            wit::BodyFormat::Html => Self::Html,
        }
    }
}

/// 0.2.0 item pages carry no tombstones.
impl From<types::ItemPage> for wit::ItemPage {
    fn from(page: types::ItemPage) -> Self {
        Self {
            entries: page.entries.convert(),
            next_cursor: page.next_cursor,
            deleted: Vec::new(),
        }
    }
}

impl From<types::ConnectorError> for wit::ConnectorError {
    fn from(error: types::ConnectorError) -> Self {
        use types::ConnectorError as Old;
        match error {
            Old::InvalidConfig(m) => Self::InvalidConfig(m),
            Old::Unauthorized(m) => Self::Unauthorized(m),
            Old::Forbidden(m) => Self::Forbidden(m),
            Old::NotFound(m) => Self::NotFound(m),
            Old::RateLimited(r) => Self::RateLimited(r.into()),
            Old::Unsupported(m) => Self::Unsupported(m),
            Old::Transient(m) => Self::Transient(m),
            Old::Permanent(m) => Self::Permanent(m),
        }
    }
}
