//! SOQL and SOSL text built from checked parts: identifiers (sObject and field names) must be
//! plain API names, since SOQL cannot quote them; literals are escaped as the SOQL and SOSL
//! references say; record ids are checked for their 15 or 18 characters.

use connector_sdk::prelude::*;

/// An sObject or field API name: a letter, then letters, digits and underscores (custom ones
/// end in `__c`), at most 80 characters.
pub fn identifier(text: &str) -> Result<&str, ConnectorError> {
    let mut bytes = text.bytes();
    let valid = text.len() <= 80
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !text.contains("___");
    if valid {
        Ok(text)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{}` is not a Salesforce object or field name",
            text.chars().take(80).collect::<String>()
        )))
    }
}

/// A record id: 15 or 18 letters and digits.
pub fn record_id(text: &str) -> Result<&str, ConnectorError> {
    if matches!(text.len(), 15 | 18) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(text)
    } else {
        Err(ConnectorError::NotFound(format!(
            "`{}` is not a Salesforce record id",
            text.chars().take(40).collect::<String>()
        )))
    }
}

/// A SOQL string literal: quotes, backslashes and control characters escaped.
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// SOSL's reserved characters, escaped with a backslash inside `FIND {...}`.
const SOSL_RESERVED: &str = "?&|!{}[]()^~*:\\\"'+-";

/// A search term for `FIND {...}`: reserved characters escaped, control characters dropped.
pub fn sosl_term(text: &str) -> Result<String, ConnectorError> {
    let trimmed = text.trim();
    // SOSL wants at least two characters to search for.
    if trimmed.chars().count() < 2 {
        return Err(ConnectorError::InvalidConfig(
            "a Salesforce search needs at least two characters".into(),
        ));
    }
    let mut out = String::with_capacity(trimmed.len() + 8);
    for c in trimmed.chars() {
        if SOSL_RESERVED.contains(c) {
            out.push('\\');
            out.push(c);
        } else if !c.is_control() {
            out.push(c);
        }
    }
    Ok(out)
}

/// The field that titles a record of `object`.
pub fn title_field(object: &str) -> &'static str {
    match object {
        "Case" | "Task" | "Event" => "Subject",
        _ => "Name",
    }
}

/// Where the previous page ended: the last record's `LastModifiedDate` and `Id`.
pub struct After {
    /// As Salesforce wrote it, made a SOQL literal (`2026-11-01T09:00:00.000Z`).
    pub modified: String,
    pub id: String,
}

impl After {
    /// Reads a cursor written by [`After::cursor`]; anything else is refused, since its parts go
    /// into the statement.
    pub fn decode(cursor: &str) -> Result<Self, ConnectorError> {
        let bad = || ConnectorError::InvalidConfig("not a Salesforce records cursor".into());
        let (modified, id) = cursor.split_once('|').ok_or_else(bad)?;
        let valid_time = modified.len() <= 30
            && modified.ends_with('Z')
            && modified
                .bytes()
                .all(|b| b.is_ascii_digit() || b"-:.TZ".contains(&b))
            && Timestamp::parse(modified).is_ok();
        if !valid_time {
            return Err(bad());
        }
        Ok(Self {
            modified: modified.to_owned(),
            id: record_id(id).map_err(|_| bad())?.to_owned(),
        })
    }

    /// The cursor after a record modified at `modified` (as Salesforce writes it).
    pub fn cursor(modified: &str, id: &str) -> Option<String> {
        let literal = match modified.strip_suffix("+0000") {
            Some(utc) => format!("{utc}Z"),
            None => modified.to_owned(),
        };
        Self::decode(&format!("{literal}|{id}")).ok()?;
        Some(format!("{literal}|{id}"))
    }
}

/// A page of `object`'s records, most recently modified first, since `since` when given,
/// after `after` (keyset paging on `LastModifiedDate, Id`: stable while records change).
pub fn records(
    object: &str,
    since: Option<Timestamp>,
    after: Option<&After>,
    limit: u32,
) -> Result<String, ConnectorError> {
    let object = identifier(object)?;
    let title = title_field(object);
    let mut conditions = Vec::new();
    if let Some(since) = since {
        conditions.push(format!("LastModifiedDate >= {since}"));
    }
    if let Some(after) = after {
        conditions.push(format!(
            "(LastModifiedDate < {m} OR (LastModifiedDate = {m} AND Id < {id}))",
            m = after.modified,
            id = literal(&after.id)
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    Ok(format!(
        "SELECT Id, {title}, CreatedDate, LastModifiedDate FROM {object}{filter} ORDER BY LastModifiedDate DESC, Id DESC LIMIT {limit}"
    ))
}

/// A case's comments, oldest first.
pub fn case_comments(case_id: &str) -> Result<String, ConnectorError> {
    Ok(format!(
        "SELECT Id, CommentBody, CreatedDate, CreatedById, IsPublished FROM CaseComment WHERE ParentId = {} ORDER BY CreatedDate ASC",
        literal(record_id(case_id)?)
    ))
}

/// The objects a search covers, with their title fields.
pub const SEARCHED: [&str; 5] = ["Account", "Contact", "Lead", "Opportunity", "Case"];

/// A SOSL search over [`SEARCHED`] for `term`.
pub fn search(term: &str, limit: u32) -> Result<String, ConnectorError> {
    let returning: Vec<String> = SEARCHED
        .iter()
        .map(|object| format!("{object}(Id, {}, LastModifiedDate)", title_field(object)))
        .collect();
    Ok(format!(
        "FIND {{{}}} IN ALL FIELDS RETURNING {} LIMIT {limit}",
        sosl_term(term)?,
        returning.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_ids_are_checked_and_literals_escaped() {
        assert!(identifier("Account").is_ok());
        assert!(identifier("Invoice__c").is_ok());
        for bad in [
            "",
            "1Account",
            "Account WHERE",
            "Account;",
            "Acc'ount",
            "a.b",
        ] {
            assert!(identifier(bad).is_err(), "{bad}");
        }
        assert!(record_id("001D000000IqhSLIAZ").is_ok());
        assert!(record_id("001' OR Id != '").is_err());
        assert_eq!(literal(r"it's \ a"), r"'it\'s \\ a'");
        let after = After::decode(
            &After::cursor("2026-11-01T09:00:00.000+0000", "500A00000000001AAA").unwrap(),
        )
        .unwrap();
        assert_eq!(
            records("Case", Some(Timestamp::from_unix(0)), Some(&after), 50).unwrap(),
            "SELECT Id, Subject, CreatedDate, LastModifiedDate FROM Case WHERE LastModifiedDate >= 1970-01-01T00:00:00Z AND (LastModifiedDate < 2026-11-01T09:00:00.000Z OR (LastModifiedDate = 2026-11-01T09:00:00.000Z AND Id < '500A00000000001AAA')) ORDER BY LastModifiedDate DESC, Id DESC LIMIT 50"
        );
        for bad in [
            "x",
            "2026-11-01T09:00:00Z|1' OR 'a",
            "2026) OR (1=1Z|500A00000000001AAA",
        ] {
            assert!(After::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_search_term_cannot_leave_its_braces() {
        let sosl = search("acme} RETURNING User(Id", 10).unwrap();
        assert!(
            sosl.starts_with(r"FIND {acme\} RETURNING User\(Id} IN ALL FIELDS RETURNING Account(")
        );
        assert!(search("a", 10).is_err());
    }
}
