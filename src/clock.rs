//! Wall-clock time as Berth prints it, in UTC (chrono, which the cron parser uses too).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The UTC time at `seconds` after the Unix epoch (the epoch itself for times chrono cannot
/// represent).
pub fn utc(seconds: u64) -> DateTime<Utc> {
    i64::try_from(seconds)
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .unwrap_or_default()
}

/// `2026-11-22 01:02:03 UTC`
pub fn display(seconds: u64) -> String {
    utc(seconds).format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `2026-11-22T01:02:03` (RFC 3339 without the offset, for log lines).
pub fn iso(seconds: u64) -> String {
    utc(seconds).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `22/Nov/2026:01:02:03 +0000` (the Common Log Format's time, as nginx's `$time_local` in UTC).
pub fn common_log(seconds: u64) -> String {
    utc(seconds).format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(display(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(display(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(display(1_795_222_923), "2026-11-21 01:02:03 UTC");
        assert_eq!(iso(1_795_222_923), "2026-11-21T01:02:03");
        assert_eq!(common_log(1_795_222_923), "21/Nov/2026:01:02:03 +0000");
    }
}
