//! The declarative connector interpreter: one component that runs any manifest the host
//! validated. The host installs it once as plugin `declarative` (no operations, no hosts),
//! then once per manifest, with that manifest's id: each call of a declarative connector is a
//! fresh sandbox of this component that reads its manifest through the `definition` import
//! (contract 0.3.2) and makes the operation's requests through `http`, under the manifest's
//! own egress policy, credential placement and limits.

mod call;
mod info;
mod mapping;
mod projection;
mod rich_text;
mod webhooks;

use call::{Call, record_at, text_or_null};
use connector_declarative::Manifest;
use connector_declarative::model::{CommentFields, ItemFields, Listing, Single};
use connector_sdk::bindings::exports::connector::plugin::connector::Guest;
use connector_sdk::webhook::{Delivery, Outcome, Registration, Target};
use connector_sdk::{
    BodyFormat, Comment, CommentPage, ConnectionContext, ConnectionInfo, ConnectorError,
    ConnectorInfo, ContainerPage, Item, ItemPage, ItemPatch, NewComment, NewItem, PageRequest,
    Result, Timestamp,
};
use mapping::Mapper;
use serde_json::{Map, Value, json};

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v0.3.2",
        inline: "package connector:declarative; world definition-import { import connector:plugin/definition@0.3.2; }",
        world: "connector:declarative/definition-import",
        generate_all,
    });
}

/// The manifest this sandbox runs, as the host handed it over.
fn manifest() -> Result<Option<Manifest>> {
    let text = bindings::connector::plugin::definition::manifest();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ConnectorError::Permanent(format!("the host's manifest did not read: {e}")))
}

fn call(context: ConnectionContext) -> Result<Call> {
    let manifest = manifest()?.ok_or_else(|| {
        ConnectorError::Unsupported(
            "the interpreter runs a manifest; it has no operations of its own".into(),
        )
    })?;
    Call::new(manifest, context)
}

fn not_declared(operation: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("this connector does not offer `{operation}`"))
}

/// The interpreter's exports.
struct Interpreter;

impl Call {
    fn mapper<'a>(&'a self, vars: &'a Value, include_raw: bool) -> Mapper<'a> {
        Mapper::new(self.scope(vars, &Value::Null), include_raw)
    }

    fn item_fields<'a>(&'a self, own: Option<&'a ItemFields>) -> Result<&'a ItemFields> {
        own.or(self.manifest.mappings.item.as_ref())
            .ok_or_else(|| ConnectorError::Permanent("no item mapping".into()))
    }

    fn comment_fields<'a>(&'a self, own: Option<&'a CommentFields>) -> Result<&'a CommentFields> {
        own.or(self.manifest.mappings.comment.as_ref())
            .ok_or_else(|| ConnectorError::Permanent("no comment mapping".into()))
    }

    fn item_page(
        &self,
        op: &Listing<ItemFields>,
        vars: Value,
        page: &PageRequest,
        since: Option<Timestamp>,
    ) -> Result<ItemPage> {
        let fields = self.item_fields(op.fields.as_ref())?;
        let found = self.listing(op, &vars, page, fields)?;
        let mapper = self.mapper(&vars, page.include_raw);
        let mut entries = Vec::with_capacity(found.records.len());
        for record in &found.records {
            let item = mapper.item(fields, record)?;
            // A vendor that cannot filter by time: drop what changed before `since`.
            let stale = op.filter_updated_since
                && since.is_some_and(|since| {
                    item.updated_at
                        .as_deref()
                        .and_then(|t| Timestamp::parse(t).ok())
                        .is_some_and(|updated| updated < since)
                });
            if !stale {
                entries.push(item);
            }
        }
        Ok(ItemPage::new(entries, found.next))
    }

    fn single_item(&self, op: &Single<ItemFields>, vars: Value) -> Result<Item> {
        let fields = self.item_fields(op.fields.as_ref())?;
        let (body, _) = self.send(&op.request, &vars, &[])?;
        let record = record_at(&body, &op.record)?;
        self.mapper(&vars, false).item(fields, &record)
    }
}

fn format_name(format: BodyFormat) -> &'static str {
    match format {
        BodyFormat::Plain => "plain",
        BodyFormat::Markdown => "markdown",
        BodyFormat::Html => "html",
    }
}

fn attributes(list: &[(String, String)]) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

impl Guest for Interpreter {
    fn info() -> ConnectorInfo {
        match manifest() {
            Ok(Some(manifest)) => info::of(&manifest),
            // The host validated the manifest before handing it over; an empty one is the
            // interpreter loaded on its own.
            _ => info::of_interpreter(),
        }
    }

    fn validate(_config: Vec<(String, String)>) -> Result<()> {
        // The host checks the config against the schema `info()` declared.
        Ok(())
    }

    fn connect(context: ConnectionContext) -> Result<ConnectionInfo> {
        let call = call(context)?;
        let connect = &call.manifest.connect;
        let vars = call.vars(&[]);
        let (body, _) = call.send(&connect.request, &vars, &[])?;
        let record = record_at(&body, &connect.record)?;
        let mapper = call.mapper(&vars, false);
        let principal = mapper
            .principal(&connect.principal, &record)?
            .ok_or_else(|| {
                ConnectorError::Permanent("the vendor's answer names no account".into())
            })?;
        let mut info = ConnectionInfo::for_principal(principal);
        for (name, template) in &connect.values {
            let scope = connector_declarative::template::Scope {
                record: &record,
                ..call.scope(&vars, &record)
            };
            let value = connector_declarative::template::Template::parse(template)
                .and_then(|t| t.render_text(&scope))
                .map_err(ConnectorError::Permanent)?;
            if let Some(value) = value {
                info = info.discovered(name, value);
            }
        }
        Ok(info)
    }

    fn containers(
        context: ConnectionContext,
        parent: Option<String>,
        page: PageRequest,
    ) -> Result<ContainerPage> {
        let call = call(context)?;
        let top = call
            .manifest
            .containers
            .as_ref()
            .ok_or_else(|| not_declared("containers"))?;
        // Under a parent, the listing the manifest gives for that (Asana's projects of a
        // workspace); else the top level.
        let op = match (&parent, &top.under) {
            (Some(_), Some(under)) => under,
            _ => top,
        };
        let fields = op
            .fields
            .as_ref()
            .or(call.manifest.mappings.container.as_ref())
            .ok_or_else(|| ConnectorError::Permanent("no container mapping".into()))?;
        let vars = call.vars(&[("parent_id", text_or_null(parent.as_deref()))]);
        let found = call.listing(op, &vars, &page, fields)?;
        let mapper = call.mapper(&vars, page.include_raw);
        let entries = found
            .records
            .iter()
            .map(|r| mapper.container(fields, r))
            .collect::<Result<_>>()?;
        Ok(ContainerPage::new(entries, found.next))
    }

    fn items(
        context: ConnectionContext,
        container_id: String,
        updated_since: Option<String>,
        page: PageRequest,
    ) -> Result<ItemPage> {
        let since = updated_since.as_deref().map(Timestamp::parse).transpose()?;
        let call = call(context)?;
        let op = call
            .manifest
            .items
            .as_ref()
            .ok_or_else(|| not_declared("items"))?;
        let vars = call.vars(&[
            ("container_id", json!(container_id)),
            (
                "updated_since",
                text_or_null(since.map(|t| t.to_string()).as_deref()),
            ),
        ]);
        call.item_page(op, vars, &page, since)
    }

    fn get_item(context: ConnectionContext, item_id: String) -> Result<Item> {
        let call = call(context)?;
        let op = call
            .manifest
            .item
            .as_ref()
            .ok_or_else(|| not_declared("item"))?;
        call.single_item(op, call.vars(&[("item_id", json!(item_id))]))
    }

    fn comments(
        context: ConnectionContext,
        item_id: String,
        page: PageRequest,
    ) -> Result<CommentPage> {
        let call = call(context)?;
        let op = call
            .manifest
            .comments
            .as_ref()
            .ok_or_else(|| not_declared("comments"))?;
        let fields = call.comment_fields(op.fields.as_ref())?;
        let vars = call.vars(&[("item_id", json!(item_id))]);
        let found = call.listing(op, &vars, &page, fields)?;
        let mapper = call.mapper(&vars, page.include_raw);
        let entries = found
            .records
            .iter()
            .map(|r| mapper.comment(fields, r, &item_id))
            .collect::<Result<_>>()?;
        Ok(CommentPage::new(entries, found.next))
    }

    fn search(context: ConnectionContext, query: String, page: PageRequest) -> Result<ItemPage> {
        let call = call(context)?;
        let op = call
            .manifest
            .search
            .as_ref()
            .ok_or_else(|| not_declared("search"))?;
        let vars = call.vars(&[("query", json!(query))]);
        call.item_page(op, vars, &page, None)
    }

    fn create_item(
        context: ConnectionContext,
        container_id: String,
        item: NewItem,
    ) -> Result<Item> {
        let call = call(context)?;
        let op = call
            .manifest
            .create_item
            .as_ref()
            .ok_or_else(|| not_declared("create_item"))?;
        let input = json!({
            "title": item.title,
            "body": item.body,
            "body_format": format_name(item.body_format),
            "attributes": attributes(&item.attributes),
        });
        call.single_item(
            op,
            call.vars(&[("container_id", json!(container_id)), ("input", input)]),
        )
    }

    fn create_comment(
        context: ConnectionContext,
        item_id: String,
        comment: NewComment,
    ) -> Result<Comment> {
        let call = call(context)?;
        let op = call
            .manifest
            .create_comment
            .as_ref()
            .ok_or_else(|| not_declared("create_comment"))?;
        let fields = call.comment_fields(op.fields.as_ref())?;
        let input = json!({"body": comment.body, "body_format": format_name(comment.body_format)});
        let vars = call.vars(&[("item_id", json!(item_id)), ("input", input)]);
        let (body, _) = call.send(&op.request, &vars, &[])?;
        let record = record_at(&body, &op.record)?;
        call.mapper(&vars, false).comment(fields, &record, &item_id)
    }

    fn update_item(context: ConnectionContext, item_id: String, patch: ItemPatch) -> Result<Item> {
        let call = call(context)?;
        let op = call
            .manifest
            .update_item
            .as_ref()
            .ok_or_else(|| not_declared("update_item"))?;
        let input = json!({
            "title": patch.title,
            "body": patch.body,
            "body_format": format_name(patch.body_format),
            "attributes": attributes(&patch.attributes),
        });
        call.single_item(
            op,
            call.vars(&[("item_id", json!(item_id)), ("input", input)]),
        )
    }

    fn invoke_action(context: ConnectionContext, name: String, input: String) -> Result<String> {
        let call = call(context)?;
        let action = call
            .manifest
            .actions
            .get(&name)
            .ok_or_else(|| ConnectorError::Unsupported(format!("no action `{name}`")))?;
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| ConnectorError::InvalidConfig(format!("the input is not JSON: {e}")))?;
        let vars = call.vars(&[("input", input)]);
        let (body, _) = call.send(&action.request, &vars, &[])?;
        let output = if action.output.is_empty() {
            body
        } else {
            let scope = call.scope(&vars, &body);
            let mut out = Map::new();
            for (field, template) in &action.output {
                let value = connector_declarative::template::Template::parse(template)
                    .and_then(|t| t.render(&scope))
                    .map_err(ConnectorError::Permanent)?;
                out.insert(field.clone(), value);
            }
            Value::Object(out)
        };
        Ok(output.to_string())
    }

    fn webhook_event(context: Option<ConnectionContext>, delivery: Delivery) -> Result<Outcome> {
        let manifest = manifest()?.ok_or_else(|| not_declared("webhooks"))?;
        webhooks::event(&manifest, context.as_ref(), &delivery)
    }

    fn register_webhook(context: ConnectionContext, target: Target) -> Result<Registration> {
        webhooks::register(&call(context)?, &target)
    }

    fn unregister_webhook(context: ConnectionContext, registration: Registration) -> Result<()> {
        webhooks::unregister(&call(context)?, &registration)
    }
}

connector_sdk::bindings::__export_connector_plugin!(Interpreter with_types_in connector_sdk::bindings);
