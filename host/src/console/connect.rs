//! Connecting an account: the catalogue of installed connectors, and a form generated from a
//! connector's config JSON Schema and its auth methods (API key, token, basic, multi-part). The
//! form posts to the same create use case as `POST /api/v1/connections`, so the plugin's
//! `validate` and `connect` check it live before anything is stored; their message comes back
//! above the form.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::layout::{ConsoleError, alert, page};
use super::session::ConsoleUser;
use crate::app::App;
use crate::runtime::{ConnectorManifest, CredentialKindManifest};

/// `GET /console/connectors`.
pub async fn catalogue(State(state): State<App>, user: ConsoleUser) -> Markup {
    let mut plugins = state.runtime.connectors_for(&user.tenant);
    plugins.sort_by(|a, b| a.manifest.display_name.cmp(&b.manifest.display_name));
    page(
        "Connect an account",
        Some(&user),
        html! {
            h1 { "Connect an account" }
            ul {
                @for plugin in &plugins {
                    @let manifest = &plugin.manifest;
                    li {
                        a href={ "/console/connectors/" (manifest.id) "/connect" } { (manifest.display_name) }
                        " " span class="hint" { (manifest.description) }
                        br;
                        span class="hint" {
                            "Sign-in: "
                            @for (n, method) in manifest.auth_methods.iter().enumerate() {
                                @if n > 0 { ", " }
                                (method.label)
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The config fields of a schema: (name, title, description, type, required).
fn fields(schema: &Value) -> Vec<(String, String, String, String, bool)> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| {
                    (
                        name.clone(),
                        property["title"].as_str().unwrap_or(name).to_owned(),
                        property["description"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        property["type"].as_str().unwrap_or("string").to_owned(),
                        required.contains(&name.as_str()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The config fields of the schema as inputs; `prefix` keeps ids unique when a page has two
/// forms.
fn config_inputs(
    manifest: &ConnectorManifest,
    prefix: &str,
    value: &dyn Fn(&str) -> String,
) -> Markup {
    html! {
        @for (name, title, description, kind, required) in fields(&manifest.config_schema) {
            @let field = format!("config.{name}");
            @let id = format!("{prefix}{field}");
            @if kind == "boolean" {
                label for=(id) {
                    input id=(id) name=(field) type="checkbox" value="true" checked[value(&field) == "true"];
                    " " (title)
                }
            } @else {
                label for=(id) {
                    (title)
                    @if !required { " " span class="hint" { "(optional)" } }
                }
                input id=(id) name=(field) value=(value(&field)) required[required]
                    type=(if kind == "integer" || kind == "number" { "number" } else { "text" })
                    aria-describedby={ (id) ".hint" };
                @if !description.is_empty() { span id={ (id) ".hint" } class="hint" { (description) } }
            }
        }
    }
}

fn form_markup(
    user: &ConsoleUser,
    manifest: &ConnectorManifest,
    message: Option<&str>,
    values: &BTreeMap<String, String>,
) -> Markup {
    let methods: Vec<_> = manifest
        .auth_methods
        .iter()
        .filter(|m| !matches!(m.kind, CredentialKindManifest::Oauth2 { .. }))
        .collect();
    let oauth = manifest
        .auth_methods
        .iter()
        .any(|m| matches!(m.kind, CredentialKindManifest::Oauth2 { .. }));
    let value = |name: &str| values.get(name).cloned().unwrap_or_default();
    page(
        &format!("Connect {}", manifest.display_name),
        Some(user),
        html! {
            p class="crumbs" { a href="/console/connectors" { "Connect an account" } " / " (manifest.display_name) }
            h1 { "Connect " (manifest.display_name) }
            (alert(message))
            @if oauth {
                h2 { "Sign in at " (manifest.display_name) }
                form method="post" action={ "/console/connectors/" (manifest.id) "/oauth" } {
                    input type="hidden" name="csrf" value=(user.csrf);
                    (config_inputs(manifest, "oauth.", &value))
                    @let oauth_methods: Vec<_> = manifest.auth_methods.iter().filter(|m| matches!(m.kind, CredentialKindManifest::Oauth2 { .. })).collect();
                    @if oauth_methods.len() > 1 {
                        label for="oauth.auth_method" { "Sign-in method" }
                        select id="oauth.auth_method" name="auth_method" {
                            @for method in &oauth_methods { option value=(method.id) { (method.label) } }
                        }
                    } @else if let Some(method) = oauth_methods.first() {
                        input type="hidden" name="auth_method" value=(method.id);
                    }
                    button type="submit" { "Continue to " (manifest.display_name) }
                }
                @if !methods.is_empty() { h2 { "Or with a key or token" } }
            }
            @if methods.is_empty() {
                p { "This connector connects through OAuth only." }
            } @else {
                form method="post" action={ "/console/connectors/" (manifest.id) "/connect" } {
                    input type="hidden" name="csrf" value=(user.csrf);
                    label for="name" { "Name " span class="hint" { "(optional)" } }
                    input id="name" name="name" value=(value("name"));
                    (config_inputs(manifest, "", &value))
                    label for="auth_method" { "Sign-in method" }
                    select id="auth_method" name="auth_method" {
                        @for method in &methods {
                            option value=(method.id) selected[value("auth_method") == method.id] { (method.label) }
                        }
                    }
                    @for method in &methods {
                        fieldset {
                            legend { (method.label) }
                            @match &method.kind {
                                CredentialKindManifest::Basic => {
                                    label for={ (method.id) ".username" } { "User name or e-mail" }
                                    input id={ (method.id) ".username" } name={ (method.id) ".username" } autocomplete="username" value=(value(&format!("{}.username", method.id)));
                                    label for={ (method.id) ".password" } { "Password or API token" }
                                    input id={ (method.id) ".password" } name={ (method.id) ".password" } type="password" autocomplete="off";
                                }
                                CredentialKindManifest::Bearer => {
                                    label for={ (method.id) ".token" } { "Token" }
                                    input id={ (method.id) ".token" } name={ (method.id) ".token" } type="password" autocomplete="off";
                                }
                                CredentialKindManifest::ApiKey => {
                                    label for={ (method.id) ".key" } { "API key" }
                                    input id={ (method.id) ".key" } name={ (method.id) ".key" } type="password" autocomplete="off";
                                }
                                CredentialKindManifest::MultiPart { parts } => {
                                    @for part in parts {
                                        label for={ (method.id) ".part." (part.name) } { (part.label) }
                                        input id={ (method.id) ".part." (part.name) } name={ (method.id) ".part." (part.name) } type="password" autocomplete="off";
                                    }
                                }
                                CredentialKindManifest::Oauth2 { .. } => {}
                            }
                        }
                    }
                    button type="submit" { "Connect" }
                }
            }
        },
    )
}

fn manifest_of(
    state: &App,
    user: &ConsoleUser,
    connector: &str,
) -> Result<ConnectorManifest, ConsoleError> {
    state
        .runtime
        .connector_for(&user.tenant, connector)
        .map(|plugin| plugin.manifest.clone())
        .ok_or_else(|| {
            ConsoleError::new(
                StatusCode::NOT_FOUND,
                format!("connector `{connector}` is not installed"),
            )
            .for_user(user)
        })
}

/// `GET /console/connectors/{connector}/connect`: also where an agent's tool call sends its
/// person to connect an account, so sign-in comes first and returns here.
pub async fn form(
    State(state): State<App>,
    user: Result<ConsoleUser, Response>,
    Path(connector): Path<String>,
    uri: axum::http::Uri,
) -> Result<Response, ConsoleError> {
    let Ok(user) = user else {
        return Ok(super::session::sign_in_first(&uri, "/console/connectors"));
    };
    let manifest = manifest_of(&state, &user, &connector)?;
    Ok(form_markup(&user, &manifest, None, &BTreeMap::new()).into_response())
}

/// The connection config the form's `config.*` fields describe, typed by the schema.
fn config_of(
    manifest: &ConnectorManifest,
    values: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, String> {
    let get = |name: &str| values.get(name).map(String::as_str).unwrap_or_default();
    let mut config = Map::new();
    for (name, _, _, kind, _) in fields(&manifest.config_schema) {
        let raw = get(&format!("config.{name}")).trim();
        let value = match kind.as_str() {
            "boolean" => Value::Bool(raw == "true"),
            _ if raw.is_empty() => continue,
            "integer" => json!(
                raw.parse::<i64>()
                    .map_err(|_| format!("{name} must be a whole number"))?
            ),
            "number" => json!(
                raw.parse::<f64>()
                    .map_err(|_| format!("{name} must be a number"))?
            ),
            _ => Value::String(raw.to_owned()),
        };
        config.insert(name, value);
    }
    Ok(config)
}

/// The create body the form describes.
fn create_body(
    manifest: &ConnectorManifest,
    values: &BTreeMap<String, String>,
) -> Result<Value, String> {
    let get = |name: &str| values.get(name).map(String::as_str).unwrap_or_default();
    let config = config_of(manifest, values)?;
    let method_id = get("auth_method");
    let method = manifest
        .auth_methods
        .iter()
        .find(|m| m.id == method_id)
        .ok_or("choose a sign-in method")?;
    let field = |name: &str| get(&format!("{method_id}.{name}")).to_owned();
    let credentials = match &method.kind {
        CredentialKindManifest::Basic => {
            json!({"type": "basic", "username": field("username"), "password": field("password")})
        }
        CredentialKindManifest::Bearer => json!({"type": "bearer", "token": field("token")}),
        CredentialKindManifest::ApiKey => json!({"type": "api_key", "key": field("key")}),
        CredentialKindManifest::MultiPart { parts } => {
            let parts: Map<String, Value> = parts
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        Value::String(field(&format!("part.{}", p.name))),
                    )
                })
                .collect();
            json!({"type": "parts", "parts": parts})
        }
        CredentialKindManifest::Oauth2 { .. } => {
            return Err("OAuth connects through the authorize flow".into());
        }
    };
    let mut body = json!({
        "connector": manifest.id,
        "config": config,
        "credentials": credentials,
        "auth_method": method_id,
    });
    let name = get("name").trim();
    if !name.is_empty() {
        body["name"] = json!(name);
    }
    Ok(body)
}

/// `POST /console/connectors/{connector}/connect`.
pub async fn submit(
    State(state): State<App>,
    user: ConsoleUser,
    Path(connector): Path<String>,
    Form(values): Form<BTreeMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(values.get("csrf").map(String::as_str).unwrap_or_default())?;
    let manifest = manifest_of(&state, &user, &connector)?;
    // What the user typed comes back on a refusal, secrets excepted.
    let kept: BTreeMap<String, String> = values
        .iter()
        .filter(|(name, _)| {
            !name.ends_with(".password")
                && !name.ends_with(".token")
                && !name.ends_with(".key")
                && !name.contains(".part.")
                && name.as_str() != "csrf"
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let refused = |status: StatusCode, message: &str| {
        (status, form_markup(&user, &manifest, Some(message), &kept)).into_response()
    };
    let body = match create_body(&manifest, &values) {
        Ok(body) => body,
        Err(message) => return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, &message)),
    };
    let create = match serde_json::from_value(body) {
        Ok(create) => create,
        Err(error) => {
            return Ok(refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &error.to_string(),
            ));
        }
    };
    match crate::app::connections::create(&state, &user.caller(), create).await {
        Ok(record) => {
            Ok(Redirect::to(&format!("/console/connections/{}", record.id)).into_response())
        }
        Err(error) => {
            let status = error.http_status();
            Ok(refused(status, &error.message))
        }
    }
}

/// `POST /console/connectors/{connector}/oauth`: starts the host's OAuth flow and sends the
/// browser to its start page; the callback lands back on `/console/oauth/landed`.
pub async fn submit_oauth(
    State(state): State<App>,
    user: ConsoleUser,
    Path(connector): Path<String>,
    Form(values): Form<BTreeMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(values.get("csrf").map(String::as_str).unwrap_or_default())?;
    let manifest = manifest_of(&state, &user, &connector)?;
    let fail = |error: crate::error::ApiError| ConsoleError::from(error).for_user(&user);
    let reconnect = values.get("reconnect").filter(|id| !id.is_empty()).cloned();
    let config = match &reconnect {
        // A reconnect keeps the connection's own config.
        Some(id) => crate::app::connections::reconnectable(
            &state,
            &user.tenant,
            &connector,
            id,
            Default::default(),
        )
        .await
        .map_err(fail)?,
        None => config_of(&manifest, &values).map_err(|message| {
            ConsoleError::new(StatusCode::UNPROCESSABLE_ENTITY, message).for_user(&user)
        })?,
    };
    let authorization = state
        .oauth
        .authorize(crate::credentials::AuthorizeRequest {
            tenant: user.tenant.clone(),
            connector: connector.clone(),
            config,
            scopes: Vec::new(),
            redirect_uri: None,
            return_to: Some(format!(
                "{}/console/oauth/landed",
                state.public_url.trim_end_matches('/')
            )),
            name: None,
            auth_method: values.get("auth_method").cloned(),
            reconnect,
        })
        .await
        .map_err(|error| fail(error.into()))?;
    Ok(Redirect::to(&authorization.authorization_url).into_response())
}

#[derive(serde::Deserialize)]
pub struct Landed {
    connection_id: String,
}

/// `GET /console/oauth/landed?connection_id=...`: where an OAuth flow started here ends.
pub async fn landed(
    _user: ConsoleUser,
    axum::extract::Query(landed): axum::extract::Query<Landed>,
) -> Redirect {
    Redirect::to(&format!(
        "/console/connections/{}",
        url::form_urlencoded::byte_serialize(landed.connection_id.as_bytes()).collect::<String>()
    ))
}
