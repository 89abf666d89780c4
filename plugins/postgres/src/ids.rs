//! Container and item ids, and the keyset cursor. A table is `schema.table` and a row
//! `schema.table:key` (`key` the primary-key values joined by `,`), each part escaped so
//! that names holding `.`, `:`, `,`, `/` or `%` still read back exactly. Ids and cursors come
//! back from clients: they are decoded strictly, and only ever used as quoted identifiers or
//! bound parameters.

use connector_sdk::ConnectorError;

/// Characters that separate parts, escaped as `%XX` inside a part.
const RESERVED: &[char] = &['%', '.', ':', ',', '/', '?', '#'];

pub fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if RESERVED.contains(&c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

pub fn unescape(part: &str) -> Result<String, ConnectorError> {
    let bad = || ConnectorError::invalid_input(format!("`{part}` is not a valid id part"));
    let mut out = Vec::with_capacity(part.len());
    let bytes = part.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = part.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// A table or view: `schema.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableId {
    pub schema: String,
    pub name: String,
}

impl TableId {
    pub fn parse(id: &str) -> Result<Self, ConnectorError> {
        let (schema, name) = id.split_once('.').ok_or_else(|| {
            ConnectorError::invalid_input(format!(
                "`{id}` is not a table id; tables are `schema.table` (list a schema's containers)"
            ))
        })?;
        if name.contains('.') || schema.is_empty() || name.is_empty() {
            return Err(ConnectorError::invalid_input(format!(
                "`{id}` is not a table id"
            )));
        }
        Ok(Self {
            schema: unescape(schema)?,
            name: unescape(name)?,
        })
    }

    pub fn id(&self) -> String {
        format!("{}.{}", escape(&self.schema), escape(&self.name))
    }
}

/// A row: its table and its primary-key values as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowId {
    pub table: TableId,
    pub key: Vec<String>,
}

impl RowId {
    pub fn parse(id: &str) -> Result<Self, ConnectorError> {
        let (table, key) = id.split_once(':').ok_or_else(|| {
            ConnectorError::invalid_input(format!("`{id}` is not a row id (`schema.table:key`)"))
        })?;
        let key = key
            .split(',')
            .map(unescape)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            table: TableId::parse(table)?,
            key,
        })
    }

    pub fn id(&self) -> String {
        let key: Vec<String> = self.key.iter().map(|k| escape(k)).collect();
        format!("{}:{}", self.table.id(), key.join(","))
    }
}

/// Where the next page starts: after the row with these key values (keyset paging), or after
/// this name for catalogue listings.
pub fn encode_cursor(after: &[String]) -> String {
    format!("k:{}", serde_json::Value::from(after.to_vec()))
}

pub fn decode_cursor(
    cursor: Option<&str>,
    width: usize,
) -> Result<Option<Vec<String>>, ConnectorError> {
    let Some(text) = cursor else { return Ok(None) };
    let bad = || ConnectorError::invalid_input(format!("`{text}` is not a cursor of this listing"));
    let json = text.strip_prefix("k:").ok_or_else(bad)?;
    let values: Vec<String> = serde_json::from_str(json).map_err(|_| bad())?;
    if values.len() != width {
        return Err(bad());
    }
    Ok(Some(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_whatever_the_names_hold() {
        let row = RowId {
            table: TableId {
                schema: "a.b".into(),
                name: "x:y,z%/".into(),
            },
            key: vec!["1,2".into(), "é:".into()],
        };
        assert_eq!(RowId::parse(&row.id()).unwrap(), row);
        assert_eq!(TableId::parse("public.issues").unwrap().name, "issues");
        assert!(TableId::parse("public").is_err());
        assert!(TableId::parse("a.b.c").is_err());
        assert!(RowId::parse("public.issues").is_err());
        assert!(unescape("%zz").is_err());
        assert!(unescape("%").is_err());
    }

    #[test]
    fn cursors_are_checked() {
        let cursor = encode_cursor(&["5".into()]);
        assert_eq!(
            decode_cursor(Some(&cursor), 1).unwrap(),
            Some(vec!["5".to_owned()])
        );
        assert!(decode_cursor(Some(&cursor), 2).is_err());
        assert!(decode_cursor(Some("k:[1]"), 1).is_err());
        assert!(decode_cursor(Some("nope"), 1).is_err());
        assert_eq!(decode_cursor(None, 1).unwrap(), None);
    }
}
