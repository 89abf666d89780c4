//! Column values and statement parameters, converted between the `sql` contract's typed values
//! and PostgreSQL's wire formats. Results are read in PostgreSQL's binary format; parameters
//! whose case does not match the server's inferred type go in text format, so the server parses
//! them as it would a literal (a `text` value for a `date` or `inet` parameter works).

use std::error::Error as StdError;

use bytes::BytesMut;
use tokio_postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn StdError + Sync + Send>;

/// A column value or a statement parameter (the contract's `sql-value`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Boolean(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// JSON text.
    Json(String),
    /// A timestamp (RFC 3339).
    Timestamp(String),
    /// A date (`YYYY-MM-DD`).
    Date(String),
    /// A numeric, as text so no digit is lost.
    Numeric(String),
    /// A UUID.
    Uuid(String),
}

impl Value {
    /// About how many bytes the value holds, for the host's byte cap.
    pub fn weight(&self) -> usize {
        8 + match self {
            Self::Text(s)
            | Self::Json(s)
            | Self::Timestamp(s)
            | Self::Date(s)
            | Self::Numeric(s)
            | Self::Uuid(s) => s.len(),
            Self::Bytes(b) => b.len(),
            _ => 0,
        }
    }

    /// The value written as text, for a parameter sent in text format.
    fn as_text(&self) -> Option<String> {
        match self {
            Self::Null | Self::Bytes(_) => None,
            Self::Boolean(b) => Some(b.to_string()),
            Self::Int(i) => Some(i.to_string()),
            Self::Float(f) => Some(f.to_string()),
            Self::Text(s)
            | Self::Json(s)
            | Self::Timestamp(s)
            | Self::Date(s)
            | Self::Numeric(s)
            | Self::Uuid(s) => Some(s.clone()),
        }
    }
}

/// Types whose binary format is their text (UTF-8 bytes).
fn is_textual(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::CHAR
    ) || matches!(ty.kind(), Kind::Enum(_))
        || ty.name() == "citext"
}

/// A parameter as bound to a statement.
#[derive(Debug)]
pub struct Param(pub Value);

impl Param {
    /// Whether this parameter goes in binary format for `ty`.
    fn binary_for(&self, ty: &Type) -> bool {
        match &self.0 {
            Value::Null => true,
            Value::Boolean(_) => *ty == Type::BOOL,
            Value::Int(_) => matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8 | Type::OID),
            Value::Float(_) => matches!(*ty, Type::FLOAT4 | Type::FLOAT8),
            Value::Bytes(_) => true,
            Value::Json(_) => *ty == Type::JSONB || *ty == Type::JSON,
            Value::Text(_) => is_textual(ty),
            _ => false,
        }
    }
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if !self.binary_for(ty) {
            let text = self.0.as_text().ok_or_else(|| -> BoxError {
                format!(
                    "a bytes value cannot be bound to a `{}` parameter",
                    ty.name()
                )
                .into()
            })?;
            out.extend_from_slice(text.as_bytes());
            return Ok(IsNull::No);
        }
        match &self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Boolean(b) => b.to_sql(ty, out)?,
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out)?,
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out)?,
                Type::OID => u32::try_from(*i)?.to_sql(ty, out)?,
                _ => i.to_sql(ty, out)?,
            },
            Value::Float(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out)?,
                _ => f.to_sql(ty, out)?,
            },
            Value::Bytes(b) if *ty == Type::BYTEA => b.to_sql(ty, out)?,
            Value::Bytes(_) => {
                return Err(format!(
                    "a bytes value needs a `bytea` parameter, not `{}`",
                    ty.name()
                )
                .into());
            }
            Value::Json(text) => {
                let json: serde_json::Value = serde_json::from_str(text)?;
                json.to_sql(ty, out)?
            }
            Value::Text(text) => {
                out.extend_from_slice(text.as_bytes());
                IsNull::No
            }
            // Strings of a type of their own always go in text format (`binary_for`).
            Value::Timestamp(_) | Value::Date(_) | Value::Numeric(_) | Value::Uuid(_) => {
                return Err(
                    format!("cannot bind this value to a `{}` parameter", ty.name()).into(),
                );
            }
        };
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, ty: &Type) -> Format {
        if self.binary_for(ty) {
            Format::Binary
        } else {
            Format::Text
        }
    }

    to_sql_checked!();
}

/// A result column's value as read from the binary format.
pub struct Cell(pub Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let value = match *ty {
            Type::BOOL => Value::Boolean(bool::from_sql(ty, raw)?),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::OID => Value::Int(u32::from_sql(ty, raw)?.into()),
            Type::FLOAT4 => Value::Float(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
            Type::BYTEA => Value::Bytes(raw.to_vec()),
            Type::JSON | Type::JSONB => {
                Value::Json(serde_json::Value::from_sql(ty, raw)?.to_string())
            }
            Type::TIMESTAMPTZ => Value::Timestamp(
                chrono::DateTime::<chrono::Utc>::from_sql(ty, raw)?
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
            Type::TIMESTAMP => Value::Timestamp(
                chrono::NaiveDateTime::from_sql(ty, raw)?
                    .format("%Y-%m-%dT%H:%M:%S%.f")
                    .to_string(),
            ),
            Type::DATE => Value::Date(chrono::NaiveDate::from_sql(ty, raw)?.to_string()),
            Type::UUID => Value::Uuid(uuid::Uuid::from_sql(ty, raw)?.hyphenated().to_string()),
            Type::NUMERIC => Value::Numeric(numeric_text(raw)?),
            _ if is_textual(ty) => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            _ => {
                return Err(format!(
                    "the host cannot read a `{}` column; cast it to text in the statement \
                     (`column::text`)",
                    ty.name()
                )
                .into());
            }
        };
        Ok(Self(value))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, BoxError> {
        Ok(Self(Value::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// `numeric`'s binary format (base-10000 digits, a weight, a sign and a display scale) as its
/// exact decimal text, as PostgreSQL writes it.
fn numeric_text(raw: &[u8]) -> Result<String, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a truncated numeric value".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        0x0000 | 0x4000 => {}
        _ => return Err("an invalid numeric sign".into()),
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<_, _>>()?;
    let digit = |position: i32| -> u16 {
        usize::try_from(position)
            .ok()
            .and_then(|p| digits.get(p).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    // Integer part: base-10000 groups at positions 0..=weight.
    if weight < 0 {
        text.push('0');
    } else {
        for position in 0..=weight {
            let group = digit(position);
            if position == 0 {
                text.push_str(&group.to_string());
            } else {
                text.push_str(&format!("{group:04}"));
            }
        }
    }
    if dscale > 0 {
        text.push('.');
        let mut fraction = String::new();
        let mut position = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(position)));
            position += 1;
        }
        fraction.truncate(dscale);
        text.push_str(&fraction);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> String {
        let mut raw = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].iter().chain(digits) {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        numeric_text(&raw).unwrap()
    }

    #[test]
    fn numerics_read_as_their_exact_text() {
        assert_eq!(numeric(2, 0, 0, 2, &[12, 3400]), "12.34");
        assert_eq!(numeric(1, 1, 0x4000, 0, &[5]), "-50000");
        assert_eq!(numeric(1, -1, 0, 5, &[1]), "0.00010");
        assert_eq!(numeric(0, 0, 0, 0, &[]), "0");
        assert_eq!(numeric(0, 0, 0xC000, 0, &[]), "NaN");
        assert_eq!(numeric(3, 2, 0, 0, &[1, 0, 9999]), "100009999");
    }

    #[test]
    fn parameters_that_do_not_match_go_as_text() {
        let binary = |param: Param, ty: &Type| matches!(param.encode_format(ty), Format::Binary);
        assert!(!binary(
            Param(Value::Text("2026-01-01".into())),
            &Type::DATE
        ));
        assert!(binary(Param(Value::Int(4)), &Type::INT4));
        assert!(!binary(Param(Value::Int(4)), &Type::NUMERIC));
        assert!(binary(Param(Value::Text("x".into())), &Type::VARCHAR));
        let mut out = BytesMut::new();
        assert!(
            Param(Value::Int(70_000))
                .to_sql(&Type::INT2, &mut out)
                .is_err()
        );
        assert!(
            Param(Value::Bytes(vec![1]))
                .to_sql(&Type::INT4, &mut out)
                .is_err()
        );
    }
}
