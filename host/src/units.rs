//! The units configuration keys are written in. A settings type keeps a `Duration` or a byte
//! count and names its key after the unit (`tick_ms`, `lease_secs`, `max_body_kib`), so a
//! file, an environment variable and the generated reference all say the unit; these adapters
//! turn the number into the value (`#[serde(rename = "tick_ms", with = "crate::units::millis")]`).

/// A `Duration` as whole milliseconds.
pub mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `value` in milliseconds.
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    /// Reads milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// A `Duration` as whole seconds.
pub mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `value` in seconds.
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    /// Reads seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

/// A byte count as whole KiB.
pub mod kib {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `bytes` in KiB.
    pub fn serialize<S: Serializer>(bytes: &usize, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64((*bytes >> 10) as u64)
    }

    /// Reads KiB.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
        usize::deserialize(deserializer).map(|kib| kib.saturating_mul(1 << 10))
    }
}

/// A byte count as whole MiB.
pub mod mib {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `bytes` in MiB.
    pub fn serialize<S: Serializer>(bytes: &usize, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64((*bytes >> 20) as u64)
    }

    /// Reads MiB.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
        usize::deserialize(deserializer).map(|mib| mib.saturating_mul(1 << 20))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Knobs {
        #[serde(rename = "tick_ms", with = "super::millis")]
        tick: Duration,
        #[serde(rename = "lease_secs", with = "super::secs")]
        lease: Duration,
        #[serde(rename = "body_kib", with = "super::kib")]
        body: usize,
        #[serde(rename = "result_mib", with = "super::mib")]
        result: usize,
    }

    #[test]
    fn each_unit_reads_and_writes_its_number() {
        let text = r#"{"tick_ms":250,"lease_secs":60,"body_kib":64,"result_mib":4}"#;
        let knobs: Knobs = serde_json::from_str(text).unwrap();
        assert_eq!(
            knobs,
            Knobs {
                tick: Duration::from_millis(250),
                lease: Duration::from_secs(60),
                body: 64 << 10,
                result: 4 << 20,
            }
        );
        assert_eq!(serde_json::to_string(&knobs).unwrap(), text);
    }
}
