//! Five-field cron schedules (`minute hour day-of-month month day-of-week`, UTC), with `*`,
//! lists, ranges, steps and the `@hourly`-style shorthands.

use crate::clock::Civil;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid cron schedule \"{}\": {reason}",
    crate::names::shown(schedule)
)]
pub struct ScheduleError {
    pub schedule: String,
    pub reason: String,
}

/// A parsed schedule: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    any_day: bool,
    any_weekday: bool,
}

fn field(raw: &str, min: u32, max: u32) -> Result<u64, String> {
    let mut bits = 0u64;
    for item in raw.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step in {item:?}"))?,
            ),
            None => (item, 1),
        };
        let (low, high) = match range {
            "*" => (min, max),
            _ => {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                let parse = |v: &str| v.parse::<u32>().map_err(|_| format!("bad value {v:?}"));
                let (a, b) = (parse(a)?, parse(b)?);
                if a < min || b > max || a > b {
                    return Err(format!("{range} is outside {min}-{max}"));
                }
                (a, b)
            }
        };
        for value in (low..=high).step_by(step as usize) {
            bits |= 1 << value;
        }
    }
    Ok(bits)
}

impl Schedule {
    pub fn parse(schedule: &str) -> Result<Schedule, ScheduleError> {
        let expanded = match schedule.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let fail = |reason: String| ScheduleError {
            schedule: schedule.to_string(),
            reason,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields.as_slice() else {
            return Err(fail(
                "it needs five fields: minute hour day month weekday".into(),
            ));
        };
        let mut weekdays = field(weekday, 0, 7).map_err(fail)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Schedule {
            minutes: field(minute, 0, 59).map_err(fail)?,
            hours: field(hour, 0, 23).map_err(fail)?,
            days: field(day, 1, 31).map_err(fail)?,
            months: field(month, 1, 12).map_err(fail)?,
            weekdays,
            any_day: *day == "*",
            any_weekday: *weekday == "*",
        })
    }

    /// Does the schedule fire in this minute? (Day-of-month and day-of-week: either matches
    /// when both are restricted, as in every cron.)
    pub fn matches(&self, at: &Civil) -> bool {
        let bit = |set: u64, value: u32| set & (1 << value) != 0;
        let day = bit(self.days, at.day);
        let weekday = bit(self.weekdays, at.weekday);
        let day_ok = match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (true, false) => weekday,
            (false, true) => day,
            (false, false) => day || weekday,
        };
        bit(self.minutes, at.minute)
            && bit(self.hours, at.hour)
            && bit(self.months, at.month)
            && day_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> Civil {
        Civil::from_unix(unix)
    }

    #[test]
    fn schedules_match_their_minutes() {
        // 2026-11-21 01:02:03 UTC, a Saturday.
        let t = at(1_795_222_923);
        assert!(Schedule::parse("* * * * *").unwrap().matches(&t));
        assert!(Schedule::parse("2 1 * * *").unwrap().matches(&t));
        assert!(!Schedule::parse("3 1 * * *").unwrap().matches(&t));
        assert!(Schedule::parse("*/2 * * * 6").unwrap().matches(&t));
        assert!(Schedule::parse("0-5,30 1 21 11 *").unwrap().matches(&t));
        assert!(!Schedule::parse("@hourly").unwrap().matches(&t));
        assert!(
            Schedule::parse("2 1 1 * 6").unwrap().matches(&t),
            "day or weekday"
        );
        assert!(Schedule::parse("2 1 * * 7")
            .unwrap()
            .matches(&at(1_795_222_923 + 86_400)));
    }

    #[test]
    fn bad_schedules_say_why() {
        for (bad, reason) in [
            ("* * * *", "five fields"),
            ("60 * * * *", "outside 0-59"),
            ("*/0 * * * *", "bad step"),
            ("a * * * *", "bad value"),
            ("5-1 * * * *", "outside"),
        ] {
            let err = Schedule::parse(bad).unwrap_err().to_string();
            assert!(err.contains(reason), "{bad}: {err}");
        }
    }
}
