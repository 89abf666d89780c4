//! The manifest format, version 1: what a declarative connector says, as serde types. Every
//! string documented as a *template* may hold `{...}` placeholders (see [`crate::template`]);
//! every *pointer* is an RFC 6901 JSON pointer (`""` is the whole document).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod oauth2;
pub mod webhooks;

pub use oauth2::OAuth2Spec;
pub use webhooks::Webhooks;

/// The `spec` every version-1 manifest starts with.
pub const SPEC_V1: &str = "connector-manifest/1";

/// A declarative connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version: `connector-manifest/1`.
    pub spec: String,
    /// Stable id in lower case (`asana`); also the plugin id.
    pub id: String,
    /// Name shown to people (`Asana`).
    pub name: String,
    /// Semantic version of the connector (`1.0.0`).
    pub version: String,
    /// What it connects to.
    #[serde(default)]
    pub description: String,
    /// Where requests go.
    pub base: Base,
    /// How a connection authenticates; at least one.
    pub auth: Vec<AuthSpec>,
    /// Hosts requests may reach besides the base's own (`*.`-wildcards allowed). The operator's
    /// policy still applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_hosts: Vec<String>,
    /// Connection config keys besides the base's origin key, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, ConfigField>,
    /// How vendor errors are read.
    #[serde(default)]
    pub errors: ErrorRules,
    /// How listings page, unless an operation says otherwise. Default: `none`.
    #[serde(default)]
    pub paginate: Paginate,
    /// Tables for the `map(...)` transform: name → vendor value → unified value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub value_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// How vendor records become containers, items and comments, unless an operation says
    /// otherwise.
    #[serde(default)]
    pub mappings: Mappings,
    /// Checks the credential and names the account behind it.
    pub connect: Connect,
    /// Lists containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Listing<ContainerFields>>,
    /// Lists a container's items (`$container_id`, `$updated_since`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Listing<ItemFields>>,
    /// Reads one item (`$item_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Single<ItemFields>>,
    /// Lists an item's comments (`$item_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<Listing<CommentFields>>,
    /// Searches items (`$query`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Listing<ItemFields>>,
    /// Creates an item (`$container_id`, `$input.title`, `$input.body`, `$input.attributes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_item: Option<Write<ItemFields>>,
    /// Changes an item (`$item_id`, `$input.title`, `$input.body`, `$input.attributes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_item: Option<Write<ItemFields>>,
    /// Adds a comment (`$item_id`, `$input.body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_comment: Option<Write<CommentFields>>,
    /// Named actions by name (lower case with `_`), each one request (`$input.*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, ActionSpec>,
    /// How the vendor's webhooks are verified and turned into changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Webhooks>,
}

/// Where requests go: a fixed URL, the origin a connection configures, or both (the fixed URL
/// unless the connection sets the origin key, which then replaces the URL's origin and keeps
/// its path, as Figma's `api_url` does for a regional or test endpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Base {
    /// A fixed `https://` base URL, path included (`https://app.asana.com/api/1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The config key whose value is the connection's origin (`site_url`); requests there may
    /// carry the credential. Required in the config unless `url` is given too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_config: Option<String>,
    /// An example of that origin, shown in the config schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// A path put before every request's own on a configured origin (`/api/v2`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
}

impl Base {
    /// The host of the fixed `url` (lower case, no port), when there is one: a host the
    /// connector requests and sends its credential to.
    pub fn fixed_host(&self) -> Option<String> {
        let rest = self.url.as_deref()?.strip_prefix("https://")?;
        let host = rest.split(['/', ':']).next()?;
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    }
}

/// One way to authenticate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// Stable id (`api_token`).
    pub id: String,
    /// Shown to people choosing it.
    pub label: String,
    /// What the client supplies, and where the host puts it.
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// For `api_key`: the header the host puts the key in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// For `api_key`: the query parameter the host puts the key in (instead of a header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// For `multi_part`: each secret and where the host puts it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<CredentialPartSpec>,
    /// Hosts the credential may go to besides the connection's origin (`*.`-wildcards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_hosts: Vec<String>,
    /// For `oauth2`: the vendor's endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Spec>,
}

/// What kind of credential a client supplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// A token the host sends as `Authorization: Bearer`.
    Bearer,
    /// A user name and password (or API token) the host sends as HTTP Basic.
    Basic,
    /// One key the host puts in `header` or `query`.
    ApiKey,
    /// Several secrets, each placed as its part says.
    MultiPart,
    /// A token the host obtains through the OAuth 2.0 authorization-code flow (and refreshes),
    /// sent as `Authorization: Bearer`; the endpoints are in `oauth2`.
    #[serde(rename = "oauth2")]
    OAuth2,
}

/// One secret of a `multi_part` credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CredentialPartSpec {
    /// The name a client gives it under in `credentials.parts` (`key`).
    pub name: String,
    /// Shown to people entering it.
    pub label: String,
    /// The header the host puts it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The query parameter the host puts it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// A connection config key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfigField {
    /// Shown to people entering it.
    #[serde(default)]
    pub description: String,
    /// Whether a connection must set it. Default: false.
    #[serde(default)]
    pub required: bool,
    /// Allowed values, when it is one of a few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
}

/// How vendor errors are read. The statuses not named keep their usual meaning: 401
/// unauthorized, 403 forbidden, 404 not found, 429 rate limited, 5xx worth a retry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorRules {
    /// More statuses meaning the credential was refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unauthorized: Vec<u16>,
    /// More statuses meaning what was asked for does not exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_found: Vec<u16>,
    /// More statuses meaning the vendor throttled the call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limited: Vec<u16>,
    /// A header with the seconds to wait when throttled, besides `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_header: Option<String>,
    /// Pointer to the vendor's message in an error body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How a listing pages. The cursor a client gets back is opaque; the interpreter checks it
/// when it returns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paginate {
    /// One page only.
    #[default]
    None,
    /// The `rel="next"` URL of the `Link` header (RFC 8288).
    LinkHeader {
        /// Query parameter for the page size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_param: Option<String>,
    },
    /// The next page's URL, found in the body or a header.
    NextUrl {
        /// Where the URL is.
        next: Locator,
        /// Query parameter for the page size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_param: Option<String>,
    },
    /// An opaque token, found in the body or a header, sent back as a query parameter.
    Cursor {
        /// The query parameter the token goes back in.
        cursor_param: String,
        /// Where the token is; absent, empty or `null` on the last page.
        next: Locator,
        /// Query parameter for the page size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_param: Option<String>,
        /// Pointer to a boolean that is false on the last page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        has_more: Option<String>,
    },
    /// An offset and a page size.
    Offset {
        /// Query parameter for the offset.
        offset_param: String,
        /// Query parameter for the page size.
        limit_param: String,
        /// Pointer to a boolean that is false on the last page; without it a short page is the
        /// last one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        has_more: Option<String>,
    },
    /// A page number and a page size.
    PageNumber {
        /// Query parameter for the page number.
        page_param: String,
        /// Query parameter for the page size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_param: Option<String>,
        /// The first page's number. Default: 1.
        #[serde(default = "one")]
        start: u32,
        /// Pointer to a boolean that is false on the last page; without it a short page is the
        /// last one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        has_more: Option<String>,
    },
}

fn one() -> u32 {
    1
}

/// Where a value is in a response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Locator {
    /// A pointer into the body.
    Pointer(String),
    /// A response header, by name.
    Header(String),
}

/// How vendor records become the unified shape, by default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    /// For `containers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerFields>,
    /// For `items`, `item`, `search`, `create_item` and `update_item`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemFields>,
    /// For `comments` and `create_comment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentFields>,
}

/// One request, every part a template over the operation's `$` variables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Default: `GET`.
    #[serde(default)]
    pub method: Method,
    /// Path under the base, starting with `/`. Each placeholder's value is encoded as one
    /// path segment: it cannot add segments, a query, or a `..`.
    pub path: String,
    /// Query parameters; one whose value is missing or empty is left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Extra headers (`Accept`); the credential is never one of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Query parameters or headers that must have a value: without one the call fails with a
    /// clear error before anything is sent (Trello's `idList` when creating a card,
    /// PagerDuty's `From` on writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// A JSON body: every string in it is a template; a string that is one placeholder keeps
    /// the value's JSON type, and an object member whose value is missing is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`.
    #[default]
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

/// `connect`: one request whose answer names the account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Connect {
    /// The request.
    pub request: RequestSpec,
    /// Pointer to the account record in the answer. Default: the whole body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record: String,
    /// The account, from the record.
    pub principal: PrincipalFields,
    /// Values kept for later calls (`$values.name`), from the record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// A listing: one request per page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(
    deny_unknown_fields,
    bound(
        deserialize = "F: serde::de::DeserializeOwned",
        serialize = "F: Serialize"
    )
)]
pub struct Listing<F> {
    /// The first page's request.
    pub request: RequestSpec,
    /// Pointer to the array of records. Default: the whole body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub records: String,
    /// How each record maps, when not the manifest's default mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<F>,
    /// How it pages, when not the manifest's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paginate: Option<Paginate>,
    /// For `items`: the vendor cannot filter by time, so the interpreter drops items updated
    /// before `$updated_since`. Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub filter_updated_since: bool,
    /// Keeps only the records whose field (a dotted path) has this text (Asana's stories:
    /// `type: comment`). Default: every record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keep: BTreeMap<String, String>,
    /// For `containers`: the listing used when a parent is given (`$parent_id`), as Asana's
    /// projects under a workspace. Without it, the same request serves both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under: Option<Box<Listing<F>>>,
}

/// One request answering one record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(
    deny_unknown_fields,
    bound(
        deserialize = "F: serde::de::DeserializeOwned",
        serialize = "F: Serialize"
    )
)]
pub struct Single<F> {
    /// The request.
    pub request: RequestSpec,
    /// Pointer to the record in the answer. Default: the whole body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record: String,
    /// How the record maps, when not the manifest's default mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<F>,
}

/// A write: one request whose answer is the record as the vendor stored it.
pub type Write<F> = Single<F>;

/// A named action: one request, its answer mapped to the output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// Short human title (`Close an issue`).
    pub title: String,
    /// What it does and when to use it.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the input object; the host validates input against it.
    pub input_schema: Value,
    /// Hints for agents and the people approving them.
    #[serde(default)]
    pub annotations: Annotations,
    /// The request (`$input.*` is the validated input).
    pub request: RequestSpec,
    /// The output object: field → template over the answer. Default: the answer as it is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, String>,
}

/// What an action does, as hints.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    /// It only reads.
    #[serde(default)]
    pub read_only: bool,
    /// It may destroy or overwrite data.
    #[serde(default)]
    pub destructive: bool,
    /// Running it twice has the effect of running it once.
    #[serde(default)]
    pub idempotent: bool,
    /// It reaches beyond the connection's own data.
    #[serde(default)]
    pub open_world: bool,
}

/// A container, field by field: templates over the vendor record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ContainerFields {
    /// The vendor's id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind in lower case (`project`).
    pub kind: String,
    /// The enclosing container's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Link a person can open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Other vendor fields as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// An item, field by field: templates over the vendor record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemFields {
    /// The vendor's id.
    pub id: String,
    /// Title or summary.
    pub title: String,
    /// Kind in lower case (`task`).
    pub kind: String,
    /// The container it lives in. Default: the operation's `$container_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// The body as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// How `body` is written. Default: `plain`.
    #[serde(default)]
    pub body_format: BodyFormat,
    /// Link a person can open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Who created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<PrincipalFields>,
    /// Creation time (made RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change time (made RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Other vendor fields as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// A comment, field by field: templates over the vendor record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CommentFields {
    /// The vendor's id.
    pub id: String,
    /// The body as text.
    pub body: String,
    /// How `body` is written. Default: `plain`.
    #[serde(default)]
    pub body_format: BodyFormat,
    /// Who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<PrincipalFields>,
    /// Creation time (made RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change time (made RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Link a person can open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// An account, field by field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PrincipalFields {
    /// The vendor's stable id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// How a body is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "load", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// Plain text.
    #[default]
    Plain,
    /// CommonMark.
    Markdown,
    /// HTML.
    Html,
}
