//! [`Timestamp`]: one instant, read from any RFC 3339 form and written as RFC 3339 UTC.

use std::fmt;

use crate::ConnectorError;

/// An instant with second precision, in UTC.
///
/// The host canonicalizes `updated_since` before a call (`2026-11-01T08:30:00Z`), so
/// [`crate::Connector::items`] receives a parsed `Timestamp`. Use [`Timestamp::parse`] on vendor
/// times (offsets such as `+02:00` and fractions are accepted; fractions are dropped) and
/// `to_string()` to write the canonical form.
///
/// ```
/// use connector_sdk::Timestamp;
/// let t = Timestamp::parse("2026-11-01T10:30:00.123+02:00").unwrap();
/// assert_eq!(t.to_string(), "2026-11-01T08:30:00Z");
/// assert_eq!(t.parts(), (2026, 11, 1, 8, 30, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix: i64,
}

impl Timestamp {
    /// The instant `unix` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(unix: i64) -> Self {
        Self { unix }
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix(self) -> i64 {
        self.unix
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; anything else is an `invalid-config`
    /// error naming the text.
    pub fn parse(text: &str) -> Result<Self, ConnectorError> {
        parse(text.trim()).ok_or_else(|| {
            let shown: String = text.chars().take(40).collect();
            ConnectorError::InvalidConfig(format!("`{shown}` is not an RFC 3339 time"))
        })
    }

    /// Year, month, day, hour, minute, second, in UTC.
    pub fn parts(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.unix.div_euclid(86_400);
        let secs = self.unix.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        (year, month, day, secs / 3600, secs / 60 % 60, secs % 60)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.parts();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

fn parse(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|(at, sep)| bytes[*at] != *sep) {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month as u32)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = rest[1..3].parse().ok().filter(|h| *h < 24)?;
            let minutes: i64 = rest[4..6].parse().ok().filter(|m| *m < 60)?;
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    // A leap second (`:60`) is read as the next second.
    Some(Timestamp::from_unix(
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
    ))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_normalize_to_utc_seconds() {
        for (given, expected) in [
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
            ("2026-11-01T08:30:00.999Z", "2026-11-01T08:30:00Z"),
            ("2026-01-01T01:00:00+03:00", "2025-12-31T22:00:00Z"),
            ("2024-02-29T23:30:00-01:00", "2024-03-01T00:30:00Z"),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(Timestamp::parse(given).unwrap().to_string(), expected);
        }
        assert_eq!(
            Timestamp::parse("1970-01-02T00:00:00Z").unwrap().unix(),
            86_400
        );
    }

    #[test]
    fn malformed_times_are_refused() {
        for given in [
            "2026-11-01",
            "2026-11-01T08:30:00",
            "2026-02-30T00:00:00Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T08:30:00+0200",
            "2026-11-01T08:30:00.Z",
            "20261101T083000Z",
        ] {
            assert!(Timestamp::parse(given).is_err(), "{given}");
        }
    }
}
