//! PostgreSQL connector: schemas and their tables and views as containers, rows as items
//! (keyset pages on the primary key, `updated_since` on a column the connection names), one
//! row by its key, text search over a table's text columns, and inserts when the connection
//! allows writes. Every statement goes through the host's `sql` capability: the host holds the
//! password and the socket; identifiers are quoted and values bound as parameters.

mod catalog;
mod ids;
mod rows;

use std::collections::BTreeMap;

use connector_sdk::config::Config;
use connector_sdk::prelude::*;
use connector_sdk::sql::{self, Value};
use serde_json::json;

use catalog::TableInfo;
use ids::{RowId, TableId};
use rows::RowMapper;

/// Largest page a client may ask for; the host's row cap bounds it too.
const MAX_PAGE: u32 = 500;
/// Tables one search looks through at most.
const MAX_SEARCH_TABLES: usize = 10;

/// One connection's database.
pub struct Postgres {
    allow_writes: bool,
    /// Table id → the column that says when a row last changed.
    updated_at_columns: BTreeMap<String, String>,
    /// Tables searched when the query names none.
    search_tables: Vec<String>,
}

fn config_json<T: serde::de::DeserializeOwned + Default>(config: &Config, key: &str) -> Result<T> {
    match config.get(key) {
        None | Some("") => Ok(T::default()),
        Some(text) => serde_json::from_str(text).map_err(|error| {
            ConnectorError::invalid_input(format!("config `{key}` is malformed: {error}"))
        }),
    }
}

fn read_config(config: &Config) -> Result<Postgres> {
    let allow_writes = match config.get("allow_writes") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ConnectorError::invalid_input(format!(
                "config `allow_writes` must be true or false, not `{other}`"
            )));
        }
    };
    let updated_at_columns: BTreeMap<String, String> = config_json(config, "updated_at_columns")?;
    for table in updated_at_columns.keys() {
        TableId::parse(table)?;
    }
    let search_tables: Vec<String> = config_json(config, "search_tables")?;
    for table in &search_tables {
        TableId::parse(table)?;
    }
    Ok(Postgres {
        allow_writes,
        updated_at_columns,
        search_tables,
    })
}

fn page_limit(page: &PageRequest) -> u32 {
    page.limit.clamp(1, MAX_PAGE)
}

fn text_at(row: &[Value], index: usize) -> Result<String> {
    match row.get(index) {
        Some(Value::Text(text)) => Ok(text.clone()),
        _ => Err(ConnectorError::permanent("unexpected catalogue row")),
    }
}

impl Postgres {
    fn mapper<'a>(&'a self, table: &'a TableInfo, include_raw: bool) -> RowMapper<'a> {
        RowMapper {
            table,
            updated_at: self
                .updated_at_columns
                .get(&table.id.id())
                .map(String::as_str),
            include_raw,
        }
    }

    fn schemas(&self, page: &PageRequest) -> Result<ContainerPage> {
        let limit = page_limit(page);
        let after = ids::decode_cursor(page.cursor.as_deref(), 1)?;
        let rows = sql::query(
            &format!(
                "SELECT nspname::text FROM pg_catalog.pg_namespace \
                 WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%' \
                   AND has_schema_privilege(oid, 'USAGE') \
                   AND ($1::text IS NULL OR nspname::text COLLATE \"C\" > $1) \
                 ORDER BY nspname::text COLLATE \"C\" LIMIT {}",
                limit + 1
            ),
            &[after.map_or(Value::Null, |a| Value::Text(a[0].clone()))],
        )?;
        let mut entries = Vec::new();
        for row in rows.rows.iter().take(limit as usize) {
            let name = text_at(row, 0)?;
            entries.push(Container::new(ids::escape(&name), "schema", name));
        }
        Ok(name_page(entries, rows.rows.len() > limit as usize))
    }

    fn tables(&self, schema_id: &str, page: &PageRequest) -> Result<ContainerPage> {
        let schema = ids::unescape(schema_id)?;
        let limit = page_limit(page);
        let after = ids::decode_cursor(page.cursor.as_deref(), 1)?;
        let rows = sql::query(
            &format!(
                "SELECT c.relname::text, c.relkind::text FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f') \
                   AND has_table_privilege(c.oid, 'SELECT') \
                   AND ($2::text IS NULL OR c.relname::text COLLATE \"C\" > $2) \
                 ORDER BY c.relname::text COLLATE \"C\" LIMIT {}",
                limit + 1
            ),
            &[
                Value::Text(schema.clone()),
                after.map_or(Value::Null, |a| Value::Text(a[0].clone())),
            ],
        )?;
        let mut entries = Vec::new();
        for row in rows.rows.iter().take(limit as usize) {
            let name = text_at(row, 0)?;
            let kind = match text_at(row, 1)?.as_str() {
                "v" => "view",
                "m" => "materialized_view",
                "f" => "foreign_table",
                _ => "table",
            };
            let id = TableId {
                schema: schema.clone(),
                name: name.clone(),
            };
            let mut container = Container::new(id.id(), kind, name);
            container.parent_id = Some(schema_id.to_owned());
            entries.push(container);
        }
        Ok(name_page(entries, rows.rows.len() > limit as usize))
    }

    fn search_table(&self, id: &TableId, term: &str, limit: u32, raw: bool) -> Result<Vec<Item>> {
        let table = TableInfo::read(id)?;
        let keys = table.key_list()?;
        let conditions: Vec<String> = table
            .columns
            .iter()
            .filter(|c| c.is_text())
            .map(|c| {
                Ok(format!(
                    "{} ILIKE $1 ESCAPE '\\'",
                    sql::quote_identifier(&c.name)?
                ))
            })
            .collect::<Result<_>>()?;
        if conditions.is_empty() {
            return Ok(Vec::new());
        }
        let pattern = format!("%{}%", like_escaped(term));
        let rows = sql::query(
            &format!(
                "SELECT {} FROM {} WHERE {} ORDER BY {keys} LIMIT {limit}",
                table.select_list()?,
                table.quoted_name()?,
                conditions.join(" OR "),
            ),
            &[Value::Text(pattern)],
        )?;
        self.mapper(&table, raw).items(&rows)
    }
}

/// A page of catalogue entries listed by name: the next one starts after the last name.
fn name_page(entries: Vec<Container>, more: bool) -> ContainerPage {
    let next = more
        .then(|| {
            entries
                .last()
                .map(|c| ids::encode_cursor(std::slice::from_ref(&c.name)))
        })
        .flatten();
    ContainerPage::new(entries, next)
}

/// `term` with LIKE's wildcards and escape character taken literally.
fn like_escaped(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[connector_sdk::connector]
impl Connector for Postgres {
    fn info() -> ConnectorInfo {
        let schema = json!({
            "type": "object",
            "required": ["host", "database"],
            "properties": {
                "host": {"type": "string", "format": "hostname",
                    "description": "The database server's name or address"},
                "port": {"type": ["integer", "string"], "description": "Default 5432"},
                "database": {"type": "string"},
                "tls": {"enum": ["verify-full", "disable"],
                    "description": "verify-full (default) checks the server's certificate; \
                        disable only where the operator allows private egress"},
                "allow_writes": {"type": "boolean",
                    "description": "Let the connection insert rows (default false: every \
                        statement runs read-only)"},
                "updated_at_columns": {"type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Per table id (schema.table), the column holding when a \
                        row last changed, for updated_since"},
                "search_tables": {"type": "array", "items": {"type": "string"},
                    "description": "Table ids searched when a query names none \
                        (`table:schema.table words` names one)"}
            }
        });
        ConnectorInfo::builder("postgres", "PostgreSQL")
            .description("Schemas, tables and rows of a PostgreSQL database")
            .auth_method(AuthMethod::basic("password", "Database user and password"))
            // The database host is the connection's own (config `host`); the operator's
            // policy and address guard still decide whether it may be reached.
            .requested_host("*")
            .config_schema(schema)
            .build()
    }

    fn validate(config: &Config) -> Result<()> {
        for key in ["host", "database"] {
            config.require(key)?;
        }
        if let Some(tls) = config.get("tls")
            && !matches!(tls, "verify-full" | "disable")
        {
            return Err(ConnectorError::invalid_input(format!(
                "config `tls` must be verify-full or disable, not `{tls}`"
            )));
        }
        read_config(config).map(|_| ())
    }

    fn new(connection: Connection) -> Result<Self> {
        read_config(connection.config())
    }

    fn connect(&self) -> Result<ConnectionInfo> {
        let rows = sql::query(
            "SELECT current_user::text, current_database()::text, current_setting('server_version')",
            &[],
        )?;
        let row = rows
            .rows
            .first()
            .ok_or_else(|| ConnectorError::permanent("the database answered no row"))?;
        let user = text_at(row, 0)?;
        let database = text_at(row, 1)?;
        let mut principal = Principal::id(user.clone());
        principal.display_name = Some(format!("{user} on {database}"));
        Ok(ConnectionInfo::for_principal(principal).discovered("server_version", text_at(row, 2)?))
    }

    fn containers(&self, parent: Option<&str>, page: PageRequest) -> Result<ContainerPage> {
        match parent {
            None => self.schemas(&page),
            Some(schema) => self.tables(schema, &page),
        }
    }

    fn items(
        &self,
        container: &str,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<ItemPage> {
        let table = TableInfo::read(&TableId::parse(container)?)?;
        let key = table.require_key()?.to_vec();
        let limit = page_limit(&page);
        let after = ids::decode_cursor(page.cursor.as_deref(), key.len())?;
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        if let Some(after) = after {
            let placeholders: Vec<String> = key
                .iter()
                .enumerate()
                .map(|(n, &i)| table.columns[i].param(n + 1))
                .collect();
            conditions.push(format!(
                "({}) > ({})",
                table.key_list()?,
                placeholders.join(", ")
            ));
            params.extend(after.into_iter().map(Value::Text));
        }
        let mapper = self.mapper(&table, page.include_raw);
        if let Some(since) = since {
            let column = mapper.updated_at.ok_or_else(|| {
                ConnectorError::invalid_input(format!(
                    "updated_since needs the connection's config `updated_at_columns` to name \
                     the column of `{container}` that says when a row changed"
                ))
            })?;
            let info = table.column(column).ok_or_else(|| {
                ConnectorError::invalid_input(format!("`{container}` has no column `{column}`"))
            })?;
            conditions.push(format!(
                "{} >= ${}::timestamptz",
                sql::quote_identifier(&info.name)?,
                params.len() + 1
            ));
            params.push(Value::Timestamp(since.to_string()));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let rows = sql::query(
            &format!(
                "SELECT {} FROM {} {filter} ORDER BY {} LIMIT {}",
                table.select_list()?,
                table.quoted_name()?,
                table.key_list()?,
                limit + 1
            ),
            &params,
        )?;
        let more = rows.rows.len() > limit as usize;
        let mut page_rows = rows;
        page_rows.rows.truncate(limit as usize);
        let next = match (more, page_rows.rows.last()) {
            (true, Some(last)) => Some(ids::encode_cursor(&mapper.key_of(last)?)),
            _ => None,
        };
        Ok(ItemPage::new(mapper.items(&page_rows)?, next))
    }

    fn item(&self, id: &str) -> Result<Item> {
        let row_id = RowId::parse(id)?;
        let table = TableInfo::read(&row_id.table)?;
        let key = table.require_key()?;
        if key.len() != row_id.key.len() {
            return Err(ConnectorError::invalid_input(format!(
                "`{id}` names {} key values; the table's key has {}",
                row_id.key.len(),
                key.len()
            )));
        }
        let conditions: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                Ok(format!(
                    "{} = {}",
                    sql::quote_identifier(&table.columns[i].name)?,
                    table.columns[i].param(n + 1)
                ))
            })
            .collect::<Result<_>>()?;
        let rows = sql::query(
            &format!(
                "SELECT {} FROM {} WHERE {}",
                table.select_list()?,
                table.quoted_name()?,
                conditions.join(" AND ")
            ),
            &row_id
                .key
                .iter()
                .cloned()
                .map(Value::Text)
                .collect::<Vec<_>>(),
        )?;
        self.mapper(&table, true)
            .items(&rows)?
            .into_iter()
            .next()
            .ok_or_else(|| ConnectorError::not_found(format!("no row `{id}`")))
    }

    fn search(&self, query: &str, page: PageRequest) -> Result<ItemPage> {
        let limit = page_limit(&page);
        let (tables, term) = match query.trim().strip_prefix("table:") {
            Some(rest) => {
                let (table, term) = rest.split_once(' ').unwrap_or((rest, ""));
                (vec![table.to_owned()], term.trim())
            }
            None => (self.search_tables.clone(), query.trim()),
        };
        if tables.is_empty() {
            return Err(ConnectorError::invalid_input(
                "name the table to search (`table:schema.table words`) or list tables in the \
                 connection's config `search_tables`",
            ));
        }
        if term.is_empty() {
            return Err(ConnectorError::invalid_input("the search text is empty"));
        }
        let mut entries = Vec::new();
        for table in tables.iter().take(MAX_SEARCH_TABLES) {
            let left = limit - entries.len() as u32;
            if left == 0 {
                break;
            }
            let id = TableId::parse(table)?;
            entries.extend(self.search_table(&id, term, left, page.include_raw)?);
        }
        Ok(ItemPage::new(entries, None))
    }

    fn create_item(&self, container: &str, new: NewItem) -> Result<Item> {
        if !self.allow_writes {
            return Err(ConnectorError::Forbidden(
                "this connection does not allow writes (config `allow_writes`)".into(),
            ));
        }
        let table = TableInfo::read(&TableId::parse(container)?)?;
        let mut values: Vec<(String, String)> = new.attributes.clone();
        let named =
            |values: &[(String, String)], column: &str| values.iter().any(|(c, _)| c == column);
        if !new.title.is_empty() && table.column("title").is_some() && !named(&values, "title") {
            values.push(("title".into(), new.title.clone()));
        }
        if let Some(body) = &new.body
            && table.column("body").is_some()
            && !named(&values, "body")
        {
            values.push(("body".into(), body.clone()));
        }
        if values.is_empty() {
            return Err(ConnectorError::invalid_input(
                "nothing to insert: give the row's columns as attributes",
            ));
        }
        let mut columns = Vec::new();
        let mut placeholders = Vec::new();
        for (n, (name, _)) in values.iter().enumerate() {
            let info = table.column(name).ok_or_else(|| {
                ConnectorError::invalid_input(format!("`{container}` has no column `{name}`"))
            })?;
            columns.push(sql::quote_identifier(&info.name)?);
            placeholders.push(info.param(n + 1));
        }
        let rows = sql::query(
            &format!(
                "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
                table.quoted_name()?,
                columns.join(", "),
                placeholders.join(", "),
                table.select_list()?
            ),
            &values
                .into_iter()
                .map(|(_, v)| Value::Text(v))
                .collect::<Vec<_>>(),
        )?;
        table.require_key()?;
        self.mapper(&table, true)
            .items(&rows)?
            .into_iter()
            .next()
            .ok_or_else(|| ConnectorError::permanent("the insert returned no row"))
    }
}
