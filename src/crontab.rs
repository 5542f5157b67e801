//! Five-field cron schedules (`minute hour day-of-month month day-of-week`, UTC), as Dokku's
//! cron reads them: `*`, lists, ranges, steps, month and weekday names (`JAN`, `MON-FRI`) and
//! the `@daily`-style shorthands; croner's extensions (`L`, `#`, `W`) come with it. Parsed by
//! the croner crate rather than by hand.

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid cron schedule \"{}\": {reason}",
    crate::names::shown(schedule)
)]
pub struct ScheduleError {
    pub schedule: String,
    pub reason: String,
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule(croner::Cron);

impl Schedule {
    pub fn parse(schedule: &str) -> Result<Schedule, ScheduleError> {
        // Vixie cron's one shorthand croner lacks.
        let pattern = match schedule.trim() {
            midnight if midnight.eq_ignore_ascii_case("@midnight") => "@daily",
            other => other,
        };
        CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(pattern)
            .map(Schedule)
            .map_err(|err| ScheduleError {
                schedule: schedule.to_string(),
                reason: err.to_string(),
            })
    }

    /// Does the schedule fire in the minute that starts at `minute`? (Day-of-month and
    /// day-of-week: either matches when both are restricted, as in every cron.)
    pub fn matches(&self, minute: &DateTime<Utc>) -> bool {
        self.0.is_time_matching(minute).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).unwrap()
    }

    #[test]
    fn schedules_match_their_minutes() {
        // 2026-11-21 01:02:00 UTC, a Saturday.
        let t = at(1_795_222_920);
        let matches =
            |schedule: &str, at: &DateTime<Utc>| Schedule::parse(schedule).unwrap().matches(at);
        assert!(matches("* * * * *", &t));
        assert!(matches("2 1 * * *", &t));
        assert!(!matches("3 1 * * *", &t));
        assert!(matches("*/2 * * * 6", &t));
        assert!(matches("0-5,30 1 21 11 *", &t));
        assert!(!matches("@hourly", &t));
        assert!(matches("2 1 1 * 6", &t), "day or weekday");
        assert!(matches("2 1 * * 7", &at(1_795_222_920 + 86_400)));
        // Names, as Dokku's cron takes them.
        assert!(matches("2 1 * * SAT", &t));
        assert!(matches("2 1 * NOV sat", &t));
        assert!(matches("2 1 * * MON-SAT", &t));
        assert!(!matches("2 1 * * MON-FRI", &t));
        assert!(!matches("0 3 * * MON", &t));
        assert!(matches(
            "0 3 * * MON",
            &at(1_795_222_920 + 2 * 86_400 + 7080)
        ));
        assert!(matches("@midnight", &at(1_795_219_200)));
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in [
            "* * * *",
            "0 * * * * *",
            "60 * * * *",
            "*/0 * * * *",
            "a * * * *",
            "* * * * FUNDAY",
        ] {
            let err = Schedule::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid cron schedule"), "{bad}: {err}");
        }
    }
}
