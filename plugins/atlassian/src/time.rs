//! Atlassian writes times as `2026-11-01T10:00:00.000+0000`; the unified shape wants RFC 3339.

/// `2026-11-01T10:00:00.000+0000` → `2026-11-01T10:00:00.000+00:00`; RFC 3339 input is kept.
pub fn to_rfc3339(value: &str) -> String {
    let bytes = value.as_bytes();
    let len = bytes.len();
    if len >= 5
        && (bytes[len - 5] == b'+' || bytes[len - 5] == b'-')
        && bytes[len - 4..].iter().all(u8::is_ascii_digit)
    {
        // Built by hand: this runs twice for every entry of a page, and `format!` was a
        // measurable part of a connector's time on a page of 50 issues.
        return [&value[..len - 2], ":", &value[len - 2..]].concat();
    }
    value.to_owned()
}

/// An RFC 3339 UTC time (the host has already checked it) as a JQL literal `yyyy-MM-dd HH:mm`.
/// JQL has no zone, so the literal is UTC; minutes are the finest JQL grain, so seconds are
/// dropped, which keeps the filter inclusive.
pub fn jql_datetime(rfc3339: &str) -> Option<String> {
    let (date, rest) = rfc3339.split_once(['T', 't', ' '])?;
    let time = rest.get(..5)?;
    let shaped = |text: &str, separators: &[(usize, u8)]| {
        text.bytes()
            .enumerate()
            .all(|(i, b)| match separators.iter().find(|(at, _)| *at == i) {
                Some((_, sep)) => b == *sep,
                None => b.is_ascii_digit(),
            })
    };
    (date.len() == 10 && shaped(date, &[(4, b'-'), (7, b'-')]) && shaped(time, &[(2, b':')]))
        .then(|| format!("{date} {time}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlassian_offsets_gain_a_colon() {
        assert_eq!(
            to_rfc3339("2026-11-01T10:00:00.000+0000"),
            "2026-11-01T10:00:00.000+00:00"
        );
        assert_eq!(
            to_rfc3339("2026-11-01T10:00:00.000-0530"),
            "2026-11-01T10:00:00.000-05:30"
        );
        assert_eq!(to_rfc3339("2026-11-01T10:00:00Z"), "2026-11-01T10:00:00Z");
    }

    #[test]
    fn jql_literals_drop_seconds() {
        assert_eq!(
            jql_datetime("2026-11-01T10:05:59Z").as_deref(),
            Some("2026-11-01 10:05")
        );
        assert_eq!(jql_datetime("yesterday"), None);
    }
}
