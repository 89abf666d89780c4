//! The resource browser: a connection's containers, a container's items, an item with its
//! comments and a form to add one, through the same use cases as the REST API.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{ConsoleError, page};
use super::session::ConsoleUser;
use crate::app::App;
use crate::app::resources::{
    self, ContainersQuery, CreateComment, ItemsQuery, PageQuery, SearchQuery,
};
use crate::connection::ServedBy;

/// `?cursor=` of a listing page.
#[derive(Default, Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
}

fn next_link(base: &str, cursor: Option<&str>) -> Markup {
    html! {
        @if let Some(cursor) = cursor {
            p { a href={ (base) "?cursor=" (urlencode(cursor)) } { "Next page" } }
        }
    }
}

/// A page with the headers naming the plugin version that answered, as a REST answer has.
fn served(by: &ServedBy, markup: Markup) -> (HeaderMap, Markup) {
    let mut headers = HeaderMap::new();
    by.annotate(&mut headers);
    (headers, markup)
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn segment(text: &str) -> String {
    // Ids may hold `/` or `#` (GitHub's `owner/repo#1`): one path segment each.
    urlencode(text).replace('+', "%20")
}

/// `GET /console/connections/{id}`: containers.
pub async fn containers(
    State(state): State<App>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Query(query): Query<CursorQuery>,
) -> Result<(HeaderMap, Markup), ConsoleError> {
    let fail = |e: crate::error::ApiError| ConsoleError::from(e).for_user(&user);
    let connection = user.connection(&state, &id).await?;
    let (listing, served_by) = resources::list_containers(
        &state,
        &user.tenant,
        &id,
        ContainersQuery {
            cursor: query.cursor,
            limit: Some(25),
            ..ContainersQuery::default()
        },
    )
    .await
    .map_err(fail)?
    .into_parts();
    let base = format!("/console/connections/{}", segment(&id));
    Ok(served(
        &served_by,
        page(
            &connection.name,
            Some(&user),
            html! {
                p class="crumbs" { a href="/console/connections" { "Connections" } " / " (connection.name) }
                h1 { (connection.name) " " span class="hint" { "(" (connection.connector) ")" } }
                p { a href={ (base) "/syncs" } { "Syncs" } }
                form method="get" action={ (base) "/search" } role="search" {
                    label for="q" { "Search" }
                    input id="q" name="q" type="search" required;
                    button type="submit" { "Search" }
                }
                h2 { "Containers" }
                ul {
                    @for container in &listing.entries {
                        li {
                            a href={ (base) "/containers/" (segment(&container.id)) } { (container.name) }
                            " " span class="hint" { (container.kind) " · " (container.id) }
                        }
                    }
                }
                @if listing.entries.is_empty() { p { "This connection has no containers." } }
                (next_link(&base, listing.next_cursor.as_deref()))
            },
        ),
    ))
}

/// `GET /console/connections/{id}/containers/{container}`: items.
pub async fn items(
    State(state): State<App>,
    user: ConsoleUser,
    Path((id, container)): Path<(String, String)>,
    Query(query): Query<CursorQuery>,
) -> Result<(HeaderMap, Markup), ConsoleError> {
    let fail = |e: crate::error::ApiError| ConsoleError::from(e).for_user(&user);
    let connection = user.connection(&state, &id).await?;
    let (listing, served_by) = resources::list_items(
        &state,
        &user.tenant,
        &id,
        container.clone(),
        ItemsQuery {
            cursor: query.cursor,
            limit: Some(25),
            ..ItemsQuery::default()
        },
    )
    .await
    .map_err(fail)?
    .into_parts();
    let connection_base = format!("/console/connections/{}", segment(&id));
    let base = format!("{connection_base}/containers/{}", segment(&container));
    Ok(served(
        &served_by,
        page(
            &container,
            Some(&user),
            html! {
                p class="crumbs" {
                    a href="/console/connections" { "Connections" } " / "
                    a href=(connection_base) { (connection.name) } " / " (container)
                }
                h1 { (container) }
                table {
                    thead { tr { th scope="col" { "Item" } th scope="col" { "Title" } th scope="col" { "Updated" } } }
                    tbody {
                        @for item in &listing.entries {
                            tr {
                                td { a href={ (connection_base) "/items/" (segment(&item.id)) } { (item.id) } }
                                td { (item.title) }
                                td { (item.updated_at.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
                @if listing.entries.is_empty() { p { "No items." } }
                (next_link(&base, listing.next_cursor.as_deref()))
                h2 { "New item" }
                form method="post" action={ (base) "/items" } {
                    input type="hidden" name="csrf" value=(user.csrf);
                    label for="title" { "Title" }
                    input id="title" name="title" required;
                    label for="item-body" { "Body " span class="hint" { "(optional, Markdown)" } }
                    textarea id="item-body" name="body" {}
                    button type="submit" { "Create item" }
                }
            },
        ),
    ))
}

/// `?q=` of a search.
#[derive(Deserialize)]
pub struct SearchParams {
    q: String,
}

/// `GET /console/connections/{id}/search?q=`: items matching, in the connector's own search.
pub async fn search(
    State(state): State<App>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Query(params): Query<SearchParams>,
) -> Result<(HeaderMap, Markup), ConsoleError> {
    let fail = |e: crate::error::ApiError| ConsoleError::from(e).for_user(&user);
    let connection = user.connection(&state, &id).await?;
    let (found, served_by) = resources::search_items(
        &state,
        &user.tenant,
        &id,
        SearchQuery {
            q: params.q.clone(),
            limit: Some(25),
            ..SearchQuery::default()
        },
    )
    .await
    .map_err(fail)?
    .into_parts();
    let connection_base = format!("/console/connections/{}", segment(&id));
    Ok(served(
        &served_by,
        page(
            "Search",
            Some(&user),
            html! {
                p class="crumbs" {
                    a href="/console/connections" { "Connections" } " / "
                    a href=(connection_base) { (connection.name) } " / search"
                }
                h1 { "Results for " q { (params.q) } }
                ul {
                    @for item in &found.entries {
                        li { a href={ (connection_base) "/items/" (segment(&item.id)) } { (item.title) } " " span class="hint" { (item.id) } }
                    }
                }
                @if found.entries.is_empty() { p { "Nothing matches." } }
            },
        ),
    ))
}

#[derive(Deserialize)]
pub struct NewItemForm {
    #[serde(default)]
    csrf: String,
    title: String,
    #[serde(default)]
    body: String,
}

/// `POST /console/connections/{id}/containers/{container}/items`.
pub async fn create_item(
    State(state): State<App>,
    user: ConsoleUser,
    Path((id, container)): Path<(String, String)>,
    Form(form): Form<NewItemForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let fail = |e: crate::error::ApiError| ConsoleError::from(e).for_user(&user);
    user.connection(&state, &id).await?;
    let body = (!form.body.trim().is_empty()).then_some(form.body);
    let created = resources::create_item(
        &state,
        &user.tenant,
        &id,
        container,
        resources::CreateItem {
            title: form.title,
            body,
            body_format: Default::default(),
            attributes: Default::default(),
        },
        false,
    )
    .await
    .map_err(fail)?;
    Ok(Redirect::to(&format!(
        "/console/connections/{}/items/{}",
        segment(&id),
        segment(&created.value.id)
    ))
    .into_response())
}

/// `GET /console/connections/{id}/items/{item}`: the item, its comments, and a comment form.
pub async fn item(
    State(state): State<App>,
    user: ConsoleUser,
    Path((id, item)): Path<(String, String)>,
) -> Result<(HeaderMap, Markup), ConsoleError> {
    let fail = |e: crate::error::ApiError| ConsoleError::from(e).for_user(&user);
    let connection = user.connection(&state, &id).await?;
    let (found, served_by) = resources::read_item(&state, &user.tenant, &id, item.clone(), false)
        .await
        .map_err(fail)?
        .into_parts();
    let comments = resources::list_comments(
        &state,
        &user.tenant,
        &id,
        item.clone(),
        PageQuery {
            limit: Some(50),
            ..PageQuery::default()
        },
    )
    .await
    .map_err(fail)?
    .value;
    let connection_base = format!("/console/connections/{}", segment(&id));
    let here = format!("{connection_base}/items/{}", segment(&item));
    Ok(served(
        &served_by,
        page(
            &found.title,
            Some(&user),
            html! {
                p class="crumbs" {
                    a href="/console/connections" { "Connections" } " / "
                    a href=(connection_base) { (connection.name) } " / "
                    a href={ (connection_base) "/containers/" (segment(&found.container_id)) } { (found.container_id) }
                    " / " (found.id)
                }
                h1 { (found.title) }
                @if let Some(url) = found.url.as_deref().filter(|url| web_link(url)) { p { a href=(url) rel="noreferrer noopener" { "Open at the vendor" } } }
                @if let Some(body) = &found.body { div class="body" { (body) } }
                h2 { "Comments" }
                @if comments.entries.is_empty() { p { "No comments yet." } }
                ol {
                    @for comment in &comments.entries {
                        li {
                            div class="body" { (comment.body) }
                            p class="hint" {
                                (comment.author.as_ref().and_then(|a| a.display_name.clone()).unwrap_or_default())
                                " " (comment.created_at.as_deref().unwrap_or(""))
                            }
                        }
                    }
                }
                h2 { "Add a comment" }
                form method="post" action={ (here) "/comments" } {
                    input type="hidden" name="csrf" value=(user.csrf);
                    label for="body" { "Comment" }
                    textarea id="body" name="body" required {}
                    button type="submit" { "Add comment" }
                }
            },
        ),
    ))
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    body: String,
}

/// `POST /console/connections/{id}/items/{item}/comments`.
pub async fn add_comment(
    State(state): State<App>,
    user: ConsoleUser,
    Path((id, item)): Path<(String, String)>,
    Form(form): Form<CommentForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let fail = |e: crate::error::ApiError| ConsoleError::from(e).for_user(&user);
    user.connection(&state, &id).await?;
    resources::create_comment(
        &state,
        &user.tenant,
        &id,
        item.clone(),
        CreateComment {
            body: form.body,
            body_format: Default::default(),
        },
        false,
    )
    .await
    .map_err(fail)?;
    Ok(Redirect::to(&format!(
        "/console/connections/{}/items/{}",
        segment(&id),
        segment(&item)
    ))
    .into_response())
}

/// Whether a vendor's URL may become a link: only `http(s)`. A connector (or the vendor data it
/// maps) could hand over `javascript:` or `data:`, which would run on the console's origin.
fn web_link(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https"))
}

#[cfg(test)]
mod link_tests {
    use super::web_link;

    #[test]
    fn only_web_urls_become_links() {
        assert!(web_link("https://acme.atlassian.net/browse/ALPHA-1"));
        assert!(web_link("http://127.0.0.1:9/x"));
        for hostile in [
            "javascript:alert(document.cookie)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "/relative",
        ] {
            assert!(!web_link(hostile), "{hostile}");
        }
    }
}
