//! What a manifest declares, as the contract's `connector-info`: the host runs its usual
//! load-time checks on it (hosts against the operator's policy, where credentials may go),
//! exactly as for a connector written in code.

use connector_declarative::Manifest;
use connector_declarative::model::oauth2::{ClientAuth, TokenFormat};
use connector_declarative::model::{AuthKind, AuthSpec, Base, OAuth2Spec};
use connector_sdk::action::{Action, ActionAnnotations};
use connector_sdk::{
    AuthMethod, ConnectorInfo, CredentialKind, CredentialPart, CredentialPlacement, Oauth2,
    Operation, TokenRequestFormat,
};
use serde_json::{Map, Value, json};

/// The interpreter's own info, loaded without a manifest: no operations, no hosts.
pub fn of_interpreter() -> ConnectorInfo {
    let mut info = ConnectorInfo::builder("declarative", "Declarative connector interpreter")
        .version(env!("CARGO_PKG_VERSION"))
        .description("Runs declarative connector manifests; it connects to nothing itself.")
        .build();
    info.operations = Vec::new();
    info
}

/// A manifest's info.
pub fn of(manifest: &Manifest) -> ConnectorInfo {
    let fixed_host = manifest.base.fixed_host();
    let mut builder = ConnectorInfo::builder(&manifest.id, &manifest.name)
        .version(&manifest.version)
        .description(&manifest.description)
        .config_schema(config_schema(manifest));
    if let Some(key) = &manifest.base.origin_config {
        builder = builder.origin_config_key(key);
    }
    for host in fixed_host.iter().chain(&manifest.requested_hosts) {
        builder = builder.requested_host(host);
    }
    for spec in &manifest.auth {
        builder = builder.auth_method(auth_method(spec, fixed_host.as_deref()));
    }
    for (name, action) in &manifest.actions {
        let mut declared = Action::new(name, &action.title)
            .description(&action.description)
            .input_schema(action.input_schema.clone());
        let a = action.annotations;
        declared.annotations = ActionAnnotations {
            read_only: a.read_only,
            destructive: a.destructive,
            idempotent: a.idempotent,
            open_world: a.open_world,
        };
        builder = builder.action(declared);
    }
    if let Some(hooks) = &manifest.webhooks {
        builder = builder.webhooks(crate::webhooks::support(hooks));
    }
    let mut info = builder.build();
    info.operations = operations(manifest);
    info
}

fn operations(m: &Manifest) -> Vec<Operation> {
    [
        (m.containers.is_some(), Operation::Containers),
        (m.items.is_some(), Operation::Items),
        (m.item.is_some(), Operation::Item),
        (m.comments.is_some(), Operation::Comments),
        (m.search.is_some(), Operation::Search),
        (m.create_item.is_some(), Operation::CreateItem),
        (m.create_comment.is_some(), Operation::CreateComment),
        (m.update_item.is_some(), Operation::UpdateItem),
    ]
    .into_iter()
    .filter_map(|(offered, operation)| offered.then_some(operation))
    .collect()
}

/// The connection config's JSON Schema: the origin key (required) and the declared keys.
fn config_schema(manifest: &Manifest) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    if let Base {
        origin_config: Some(key),
        example,
        url,
        ..
    } = &manifest.base
    {
        let description = match (url, example) {
            (Some(url), _) => format!("API origin (default {url})"),
            (None, Some(example)) => example.clone(),
            (None, None) => "the vendor's https:// origin".to_owned(),
        };
        properties.insert(
            key.clone(),
            json!({"type": "string", "format": "uri", "description": description}),
        );
        if url.is_none() {
            required.push(key.clone());
        }
    }
    for (key, field) in &manifest.config {
        let mut schema = json!({"type": "string", "description": field.description});
        if !field.one_of.is_empty() {
            schema["enum"] = json!(field.one_of);
        }
        properties.insert(key.clone(), schema);
        if field.required {
            required.push(key.clone());
        }
    }
    json!({"type": "object", "required": required, "properties": properties})
}

fn auth_method(spec: &AuthSpec, fixed_host: Option<&str>) -> AuthMethod {
    let (kind, placement) = match spec.kind {
        AuthKind::Bearer => (CredentialKind::Bearer, CredentialPlacement::Bearer),
        AuthKind::Basic => (CredentialKind::Basic, CredentialPlacement::Basic),
        AuthKind::ApiKey => (
            CredentialKind::ApiKey,
            placement(spec.header.as_deref(), spec.query.as_deref()),
        ),
        AuthKind::MultiPart => (
            CredentialKind::MultiPart(
                spec.parts
                    .iter()
                    .map(|part| CredentialPart {
                        name: part.name.clone(),
                        label: part.label.clone(),
                        placement: placement(part.header.as_deref(), part.query.as_deref()),
                    })
                    .collect(),
            ),
            CredentialPlacement::Bearer,
        ),
        AuthKind::OAuth2 => (
            CredentialKind::Oauth2(oauth2(spec.oauth2.as_ref())),
            CredentialPlacement::Bearer,
        ),
    };
    // A fixed base is where the credential is meant to go: it is a credential host, checked
    // by the host against the operator's policy like any other.
    let credential_hosts = fixed_host
        .map(str::to_owned)
        .into_iter()
        .chain(spec.credential_hosts.iter().cloned())
        .collect();
    AuthMethod {
        id: spec.id.clone(),
        label: spec.label.clone(),
        kind,
        placement,
        credential_hosts,
    }
}

/// The contract's endpoints from the manifest's (validated at load: a `type: oauth2` method
/// has them).
fn oauth2(spec: Option<&OAuth2Spec>) -> Oauth2 {
    let Some(spec) = spec else {
        return Oauth2::endpoints("", "");
    };
    let mut endpoints = Oauth2::endpoints(&spec.authorize_url, &spec.token_url);
    endpoints.refresh_url = spec.refresh_url.clone();
    endpoints.revoke_url = spec.revoke_url.clone();
    endpoints.default_scopes = spec.scopes.clone();
    endpoints.scope_separator = spec.scope_separator.clone();
    endpoints.extra_authorize_params = spec
        .authorize_params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    endpoints.pkce = spec.pkce;
    endpoints.client_auth = match spec.client_auth {
        ClientAuth::Body => connector_sdk::ClientAuth::Body,
        ClientAuth::Basic => connector_sdk::ClientAuth::Basic,
    };
    endpoints.token_request_format = match spec.token_format {
        TokenFormat::Form => TokenRequestFormat::Form,
        TokenFormat::Json => TokenRequestFormat::Json,
    };
    endpoints.token_pointer = spec.token_pointer.clone();
    endpoints.response_values = spec.response_values.clone();
    endpoints.origin_from_response = spec.origin_from_response.clone();
    endpoints
}

fn placement(header: Option<&str>, query: Option<&str>) -> CredentialPlacement {
    match (header, query) {
        (Some(header), _) => CredentialPlacement::Header(header.to_ascii_lowercase()),
        (None, Some(query)) => CredentialPlacement::Query(query.to_owned()),
        (None, None) => CredentialPlacement::Bearer,
    }
}
