//! Hours and calendar months in UTC: usage is counted per hour and limited per month.

use chrono::{DateTime, Datelike as _, TimeZone as _, Utc};

/// Hours since the Unix epoch.
pub fn hour_of(unix_secs: u64) -> u64 {
    unix_secs / 3600
}

fn time_of_hour(hour: u64) -> DateTime<Utc> {
    DateTime::from_timestamp((hour * 3600) as i64, 0).unwrap_or_default()
}

fn hour_of_time(time: DateTime<Utc>) -> u64 {
    (time.timestamp().max(0) as u64) / 3600
}

/// The first hour of the month `hour` falls in, and the first hour of the next month.
pub fn month_of(hour: u64) -> (u64, u64) {
    let time = time_of_hour(hour);
    let (year, month) = (time.year(), time.month());
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let first = |year, month| {
        Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .single()
            .map_or(hour, hour_of_time)
    };
    (first(year, month), first(next_year, next_month))
}

/// The first hour of the day `hour` falls in.
pub fn day_start(hour: u64) -> u64 {
    hour - hour % 24
}

/// RFC 3339 of an hour (`2026-12-07T13:00:00Z`).
pub fn rfc3339_of_hour(hour: u64) -> String {
    time_of_hour(hour).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The hour an RFC 3339 time (or a `YYYY-MM-DD` date, at midnight UTC) falls in.
pub fn hour_of_rfc3339(text: &str) -> Option<u64> {
    let time = DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            Some(date.and_hms_opt(0, 0, 0)?.and_utc())
        })?;
    (time.timestamp() >= 0).then(|| hour_of_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_begin_and_end_where_the_calendar_says() {
        let now = hour_of_rfc3339("2026-12-07T13:05:00Z").unwrap();
        assert_eq!(rfc3339_of_hour(now), "2026-12-07T13:00:00Z");
        let (start, end) = month_of(now);
        assert_eq!(rfc3339_of_hour(start), "2026-12-01T00:00:00Z");
        assert_eq!(rfc3339_of_hour(end), "2027-01-01T00:00:00Z");
        let (start, end) = month_of(hour_of_rfc3339("2028-02-10").unwrap());
        assert_eq!(rfc3339_of_hour(start), "2028-02-01T00:00:00Z");
        assert_eq!((end - start) / 24, 29, "a leap February");
        assert_eq!(rfc3339_of_hour(day_start(now)), "2026-12-07T00:00:00Z");
        assert_eq!(hour_of_rfc3339("not a time"), None);
    }
}
