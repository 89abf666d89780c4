//! Rows as unified items.

use connector_sdk::sql::{Rows, Value};
use connector_sdk::{Item, Result};
use serde_json::Map;

use crate::catalog::TableInfo;
use crate::ids::RowId;

/// Columns whose text becomes the item's title, in order of preference.
const TITLE_COLUMNS: &[&str] = &["title", "name", "subject", "summary"];
/// Columns whose text becomes the item's body.
const BODY_COLUMNS: &[&str] = &["body", "description", "content"];

/// How rows of one table become items.
pub struct RowMapper<'a> {
    pub table: &'a TableInfo,
    /// The column that says when a row last changed, if the connection names one.
    pub updated_at: Option<&'a str>,
    pub include_raw: bool,
}

impl RowMapper<'_> {
    /// The items of `rows`, whose columns are the table's own, in order.
    pub fn items(&self, rows: &Rows) -> Result<Vec<Item>> {
        rows.rows.iter().map(|row| self.item(rows, row)).collect()
    }

    /// The key values of a row, as text (for ids and cursors).
    pub fn key_of(&self, row: &[Value]) -> Result<Vec<String>> {
        self.table
            .require_key()?
            .iter()
            .map(|&i| {
                row.get(i).and_then(Value::to_text).ok_or_else(|| {
                    connector_sdk::ConnectorError::permanent("a primary-key value is missing")
                })
            })
            .collect()
    }

    fn item(&self, rows: &Rows, row: &[Value]) -> Result<Item> {
        let key = self.key_of(row)?;
        let id = RowId {
            table: self.table.id.clone(),
            key: key.clone(),
        };
        let text_of = |name: &str| -> Option<String> {
            let index = rows.column(name)?;
            match row.get(index)? {
                Value::Null => None,
                value => value.to_text(),
            }
        };
        let title = TITLE_COLUMNS
            .iter()
            .find_map(|c| text_of(c))
            .unwrap_or_else(|| format!("{} {}", self.table.id.name, key.join(", ")));
        let mut item = Item::new(id.id(), self.table.id.id(), "row", title);
        item.body = BODY_COLUMNS.iter().find_map(|c| text_of(c));
        item.updated_at = self.updated_at.and_then(text_of);
        item.created_at = text_of("created_at");
        let mut raw = Map::new();
        for (column, value) in rows.columns.iter().zip(row) {
            if let Some(text) = match value {
                Value::Bytes(bytes) => Some(hex(bytes)),
                other => other.to_text(),
            } {
                item.attributes.push((column.name.clone(), text));
            }
            if self.include_raw {
                raw.insert(column.name.clone(), value.to_json());
            }
        }
        if self.include_raw {
            item.raw = Some(serde_json::Value::Object(raw).to_string());
        }
        Ok(item)
    }
}

/// `bytea` as PostgreSQL writes it (`\x0a1b`).
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("\\x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
