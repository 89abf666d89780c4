//! What the database says about its schemas, tables and columns (from `pg_catalog`, read with
//! bound parameters only).

use connector_sdk::sql::{self, Value};
use connector_sdk::{ConnectorError, Result};

use crate::ids::TableId;

/// Types the host reads natively; other columns are selected as `::text`.
const NATIVE_TYPES: &[&str] = &[
    "bool",
    "int2",
    "int4",
    "int8",
    "oid",
    "float4",
    "float8",
    "text",
    "varchar",
    "bpchar",
    "name",
    "char",
    "bytea",
    "json",
    "jsonb",
    "timestamptz",
    "timestamp",
    "date",
    "uuid",
    "numeric",
];

/// Types searched as text.
const TEXT_TYPES: &[&str] = &["text", "varchar", "bpchar", "citext", "name"];

/// One column of a table.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    /// As `format_type` writes it (`character varying(20)`), usable in a cast.
    pub sql_type: String,
    /// The type's own name (`varchar`).
    pub type_name: String,
    /// Position in the primary key, from 1; 0 when not part of it.
    pub key_position: i64,
}

impl ColumnInfo {
    /// The column in a select list: quoted, cast to text when the host cannot read its type.
    pub fn select_expr(&self) -> Result<String> {
        let quoted = sql::quote_identifier(&self.name)?;
        Ok(if NATIVE_TYPES.contains(&self.type_name.as_str()) {
            quoted
        } else {
            format!("{quoted}::text AS {quoted}")
        })
    }

    pub fn is_text(&self) -> bool {
        TEXT_TYPES.contains(&self.type_name.as_str())
    }

    /// `$n` cast to the column's type, so a text value binds to any column.
    pub fn param(&self, n: usize) -> String {
        format!("${n}::{}", self.sql_type)
    }
}

/// A table's columns, in order, and its primary key.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub id: TableId,
    pub columns: Vec<ColumnInfo>,
    /// Indexes into `columns`, in key order.
    pub key: Vec<usize>,
}

impl TableInfo {
    /// Reads a table's columns; `not-found` when the table does not exist or is not visible.
    /// (`indkey` is an `int2vector`, whose subscripts start at 0: positions are counted from
    /// its lower bound.)
    pub fn read(id: &TableId) -> Result<Self> {
        let rows = sql::query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text, \
                    COALESCE(array_position(i.indkey::int2[], a.attnum) \
                             - array_lower(i.indkey::int2[], 1) + 1, 0)::int8 \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
               AND c.relkind IN ('r', 'v', 'm', 'p', 'f') \
               AND has_table_privilege(c.oid, 'SELECT') \
             ORDER BY a.attnum",
            &[Value::Text(id.schema.clone()), Value::Text(id.name.clone())],
        )?;
        let mut columns = Vec::with_capacity(rows.rows.len());
        for row in &rows.rows {
            let text = |i: usize| match row.get(i) {
                Some(Value::Text(s)) => Ok(s.clone()),
                _ => Err(ConnectorError::permanent("unexpected catalogue row")),
            };
            columns.push(ColumnInfo {
                name: text(0)?,
                sql_type: text(1)?,
                type_name: text(2)?,
                key_position: match row.get(3) {
                    Some(Value::Int(p)) => *p,
                    _ => 0,
                },
            });
        }
        if columns.is_empty() {
            return Err(ConnectorError::not_found(format!(
                "no table or view `{}`.`{}` this connection can read",
                id.schema, id.name
            )));
        }
        let mut key: Vec<usize> = (0..columns.len())
            .filter(|&i| columns[i].key_position > 0)
            .collect();
        key.sort_by_key(|&i| columns[i].key_position);
        Ok(Self {
            id: id.clone(),
            columns,
            key,
        })
    }

    /// The primary key, or `unsupported` for a table or view without one (rows need a key
    /// for stable pages and ids).
    pub fn require_key(&self) -> Result<&[usize]> {
        if self.key.is_empty() {
            return Err(ConnectorError::unsupported(format!(
                "`{}`.`{}` has no primary key; its rows have no stable order or id",
                self.id.schema, self.id.name
            )));
        }
        Ok(&self.key)
    }

    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `"schema"."table"`.
    pub fn quoted_name(&self) -> Result<String> {
        Ok(format!(
            "{}.{}",
            sql::quote_identifier(&self.id.schema)?,
            sql::quote_identifier(&self.id.name)?
        ))
    }

    /// Every column for a select list.
    pub fn select_list(&self) -> Result<String> {
        let exprs: Vec<String> = self
            .columns
            .iter()
            .map(ColumnInfo::select_expr)
            .collect::<Result<_>>()?;
        Ok(exprs.join(", "))
    }

    /// The key columns, quoted and comma-separated (`"a", "b"`).
    pub fn key_list(&self) -> Result<String> {
        let names: Vec<String> = self
            .require_key()?
            .iter()
            .map(|&i| sql::quote_identifier(&self.columns[i].name))
            .collect::<Result<_>>()?;
        Ok(names.join(", "))
    }
}
