//! Every timestamp format a dialect prints or parses, as `time` format
//! descriptions in one place, and the one function that prints a time with
//! one (always in UTC). The native API's times are RFC 3339 through serde.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A format description checked at compile time.
pub type Format = &'static [BorrowedFormatItem<'static>];

/// Whole seconds: `2025-01-02T03:04:05Z` (Neutron, Nova, Huawei VPC).
pub const SECONDS: Format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Milliseconds: `2016-04-25T20:04:34.604Z` (Huawei ECS jobs).
pub const MILLIS: Format =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Microseconds: `2025-01-02T03:04:05.000000Z` (Keystone tokens, Huawei IAM
/// credentials).
pub const MICROS: Format =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The Huawei SDK's `X-Sdk-Date`: `20250101T000000Z`.
pub const SDK_DATE: Format = format_description!("[year][month][day]T[hour][minute][second]Z");

/// `t` in UTC, printed with `format`.
pub fn format(t: OffsetDateTime, format: Format) -> String {
    // Every description above has only date and time components, which any
    // `OffsetDateTime` has: formatting cannot fail.
    t.to_offset(UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn each_format_prints_as_its_dialect_does() {
        let t = datetime!(2025-01-02 03:04:05.123456789 +02:00);
        assert_eq!(format(t, SECONDS), "2025-01-02T01:04:05Z");
        assert_eq!(format(t, MILLIS), "2025-01-02T01:04:05.123Z");
        assert_eq!(format(t, MICROS), "2025-01-02T01:04:05.123456Z");
        assert_eq!(format(t, SDK_DATE), "20250102T010405Z");
        let whole = datetime!(2025-01-02 03:04:05 UTC);
        assert_eq!(format(whole, MICROS), "2025-01-02T03:04:05.000000Z");
    }
}
