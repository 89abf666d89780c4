//! When to try a failed delivery again.

use std::time::Duration;

use super::settings::WebhookSettings;

/// The wait after `failures` failed attempts (1 after the first): `retry_initial` times 4 to
/// the power of `failures - 1`, at most `retry_max`, with ±20% jitter so endpoints that failed
/// together are not retried together.
pub fn delay(settings: &WebhookSettings, failures: u32) -> Duration {
    let base = settings.retry_initial.as_millis() as f64;
    let exponent = failures.saturating_sub(1).min(20) as i32;
    let raw = (base * 4f64.powi(exponent)).min(settings.retry_max.as_millis() as f64);
    let mut byte = [0u8; 1];
    let unit = if getrandom::fill(&mut byte).is_ok() {
        f64::from(byte[0]) / 255.0
    } else {
        0.5
    };
    let jittered = raw * (0.8 + 0.4 * unit);
    Duration::from_millis(jittered.min(settings.retry_max.as_millis() as f64) as u64)
}

/// A `Retry-After` value in seconds or as an HTTP date, bounded by `retry_max`.
pub fn retry_after(settings: &WebhookSettings, value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate_wait(value)?,
    };
    Some(wait.min(settings.retry_max))
}

fn httpdate_wait(value: &str) -> Option<Duration> {
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    let secs = at.timestamp() - now;
    Some(Duration::from_secs(secs.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_fourfold_within_jitter_and_stop_at_the_maximum() {
        let settings = WebhookSettings::default();
        for (failures, expected) in [(1u32, 5_000f64), (2, 20_000.0), (3, 80_000.0)] {
            let wait = delay(&settings, failures).as_millis() as f64;
            assert!(
                (expected * 0.8..=expected * 1.2).contains(&wait),
                "{failures}: {wait}"
            );
        }
        assert!(delay(&settings, 30) <= settings.retry_max);
    }

    #[test]
    fn retry_after_reads_seconds_and_is_bounded() {
        let settings = WebhookSettings::default();
        assert_eq!(retry_after(&settings, "7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&settings, "999999999"),
            Some(settings.retry_max)
        );
        assert_eq!(retry_after(&settings, "soon"), None);
    }
}
