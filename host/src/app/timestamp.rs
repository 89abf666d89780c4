//! Client-supplied times made canonical before a plugin sees them, so every connector gets one
//! form: RFC 3339 in UTC with seconds (`2026-11-01T08:30:00Z`).

use std::time::{Duration, SystemTime};

/// `text` (RFC 3339 with `Z` or a `±HH:MM` offset, fractions allowed) as UTC with seconds;
/// `None` when it is not such a time. Fractions are cut, never rounded up, so a
/// `updated_since` filter can only widen.
pub fn canonical_rfc3339(text: &str) -> Option<String> {
    let text = text.trim();
    let (local, offset_secs) = split_offset(text)?;
    let local_time = humantime::parse_rfc3339_weak(local).ok()?;
    let utc = if offset_secs >= 0 {
        local_time.checked_sub(Duration::from_secs(offset_secs.unsigned_abs()))?
    } else {
        local_time.checked_add(Duration::from_secs(offset_secs.unsigned_abs()))?
    };
    let seconds = utc.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    Some(
        humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
            .to_string(),
    )
}

/// The local part and the offset east of UTC, in seconds. A time needs a `T` (or space)
/// separator and an explicit zone: `Z` or `±HH:MM`.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(local) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return Some((local, 0));
    }
    let cut = text.len().checked_sub(6)?;
    let (local, zone) = text.split_at(cut);
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = zone[1..].split_once(':')?;
    let hours: i64 = hours.parse().ok().filter(|h| (0..24).contains(h))?;
    let minutes: i64 = minutes.parse().ok().filter(|m| (0..60).contains(m))?;
    if !local.contains(['T', 't', ' ']) {
        return None;
    }
    Some((local, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::canonical_rfc3339;

    #[test]
    fn times_become_utc_with_seconds() {
        for (given, expected) in [
            ("2026-11-01T08:30:00Z", "2026-11-01T08:30:00Z"),
            ("2026-11-01T08:30:00.987Z", "2026-11-01T08:30:00Z"),
            ("2026-11-01T10:30:00+02:00", "2026-11-01T08:30:00Z"),
            ("2026-11-01T00:30:00-05:30", "2026-11-01T06:00:00Z"),
            ("2026-01-01T01:00:00+03:00", "2025-12-31T22:00:00Z"),
        ] {
            assert_eq!(
                canonical_rfc3339(given).as_deref(),
                Some(expected),
                "{given}"
            );
        }
    }

    #[test]
    fn times_without_a_zone_or_malformed_are_refused() {
        for given in [
            "2026-11-01",
            "2026-11-01T08:30:00",
            "yesterday",
            "2026-11-01T08:30:00+25:00",
            "2026-13-01T08:30:00Z",
            "",
        ] {
            assert_eq!(canonical_rfc3339(given), None, "{given}");
        }
    }
}
