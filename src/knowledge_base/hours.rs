//! `hours.toml`: when people answer. A timezone, the weekly hours and holidays; without the file
//! the team is treated as always open (the queue then depends only on agents being online).
//!
//! ```toml
//! timezone = "Europe/London"
//! holidays = ["2026-12-25"]
//! [week]
//! monday = "09:00-17:30"
//! saturday = "10:00-13:00, 14:00-16:00"
//! sunday = ""            # closed (a missing day is closed too)
//! ```

use std::path::Path;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::Deserialize;

use super::problem::{self, Problem};

/// How far ahead "when are you back" looks.
const LOOKAHEAD_DAYS: i64 = 21;

#[derive(Debug, Clone)]
pub struct Hours {
    pub timezone: TimeZone,
    pub timezone_name: String,
    /// Monday first; each day's open ranges.
    week: [Vec<(Time, Time)>; 7],
    holidays: Vec<Date>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursFile {
    timezone: String,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    week: WeekFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WeekFile {
    #[serde(default)]
    monday: String,
    #[serde(default)]
    tuesday: String,
    #[serde(default)]
    wednesday: String,
    #[serde(default)]
    thursday: String,
    #[serde(default)]
    friday: String,
    #[serde(default)]
    saturday: String,
    #[serde(default)]
    sunday: String,
}

fn parse_ranges(text: &str) -> Result<Vec<(Time, Time)>, String> {
    let mut ranges = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part
            .split_once('-')
            .ok_or_else(|| format!("`{part}` is not a range like 09:00-17:30"))?;
        let parse = |t: &str| {
            Time::strptime("%H:%M", t.trim()).map_err(|_| format!("`{t}` is not a time like 09:00"))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if end <= start {
            return Err(format!("`{part}` ends before it starts"));
        }
        ranges.push((start, end));
    }
    Ok(ranges)
}

pub(crate) fn parse_hours(file: &Path, source: &str) -> Result<Hours, Vec<Problem>> {
    let parsed: HoursFile =
        toml::from_str(source).map_err(|e| vec![problem::from_toml(file, source, 1, &e)])?;
    let mut errors = Vec::new();
    let at = |key: &str| problem::line_of_key(source, 1, key);
    let timezone = TimeZone::get(&parsed.timezone).unwrap_or_else(|_| {
        errors.push(
            Problem::error(
                file,
                format!(
                    "unknown timezone `{}` (use an IANA name like Europe/London)",
                    parsed.timezone
                ),
            )
            .at(at("timezone"), Some("timezone")),
        );
        TimeZone::UTC
    });
    let w = &parsed.week;
    let days = [
        ("monday", &w.monday),
        ("tuesday", &w.tuesday),
        ("wednesday", &w.wednesday),
        ("thursday", &w.thursday),
        ("friday", &w.friday),
        ("saturday", &w.saturday),
        ("sunday", &w.sunday),
    ];
    let mut week: [Vec<(Time, Time)>; 7] = Default::default();
    for (i, (name, text)) in days.iter().enumerate() {
        match parse_ranges(text) {
            Ok(r) => week[i] = r,
            Err(e) => errors.push(Problem::error(file, e).at(at(name), Some(name))),
        }
    }
    let mut holidays = Vec::new();
    for h in &parsed.holidays {
        match h.parse::<Date>() {
            Ok(d) => holidays.push(d),
            Err(_) => errors.push(
                Problem::error(file, format!("holiday `{h}` is not a date like 2026-12-25"))
                    .at(at("holidays"), Some("holidays")),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Hours {
        timezone,
        timezone_name: parsed.timezone,
        week,
        holidays,
    })
}

fn day_index(w: Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}

impl Hours {
    /// Whether the team works at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let local = now.to_zoned(self.timezone.clone());
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let t = local.time();
        self.week[day_index(local.weekday())]
            .iter()
            .any(|&(start, end)| start <= t && t < end)
    }

    /// The next time the team opens after `now` (`None` if never within three weeks).
    pub fn next_open(&self, now: Timestamp) -> Option<Zoned> {
        let local = now.to_zoned(self.timezone.clone());
        for offset in 0..LOOKAHEAD_DAYS {
            let date = local
                .date()
                .checked_add(jiff::Span::new().days(offset))
                .ok()?;
            if self.holidays.contains(&date) {
                continue;
            }
            for &(start, _) in &self.week[day_index(date.weekday())] {
                let opens = date
                    .to_datetime(start)
                    .to_zoned(self.timezone.clone())
                    .ok()?;
                if opens.timestamp() > now {
                    return Some(opens);
                }
            }
        }
        None
    }

    /// The weekly hours in words, days with the same hours joined: "Monday to Friday
    /// 08:00-20:00, Saturday 10:00-16:00 (Europe/London time)". What `{{hours}}` in an answer
    /// becomes, so answers cannot drift from the hours the chat keeps.
    pub fn summary(&self) -> String {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        let ranges = |day: &[(Time, Time)]| {
            day.iter()
                .map(|(a, b)| format!("{}-{}", a.strftime("%H:%M"), b.strftime("%H:%M")))
                .collect::<Vec<_>>()
                .join(" and ")
        };
        let mut parts = Vec::new();
        let mut day = 0;
        while day < 7 {
            let mut last = day;
            while last + 1 < 7 && self.week[last + 1] == self.week[day] {
                last += 1;
            }
            if !self.week[day].is_empty() {
                let days = match last - day {
                    0 => DAYS[day].to_owned(),
                    1 => format!("{} and {}", DAYS[day], DAYS[last]),
                    _ => format!("{} to {}", DAYS[day], DAYS[last]),
                };
                parts.push(format!("{days} {}", ranges(&self.week[day])));
            }
            day = last + 1;
        }
        if parts.is_empty() {
            return "no set hours".into();
        }
        format!("{} ({} time)", parts.join(", "), self.timezone_name)
    }

    /// "Monday at 09:00 (your time)", in the visitor's timezone when it is known and valid.
    pub fn describe(&self, when: &Zoned, visitor_tz: Option<&str>) -> String {
        let (zoned, whose) = match visitor_tz.and_then(|t| TimeZone::get(t).ok()) {
            Some(tz) => (when.with_time_zone(tz), "your time".to_owned()),
            None => (when.clone(), format!("{} time", self.timezone_name)),
        };
        zoned
            .strftime(&format!("%A at %H:%M ({whose})"))
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> Hours {
        parse_hours(
            Path::new("hours.toml"),
            "timezone = \"Europe/London\"\nholidays = [\"2026-12-25\"]\n[week]\nmonday = \"09:00-17:30\"\nfriday = \"09:00-12:00, 13:00-17:00\"\n",
        )
        .unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn open_inside_the_weekly_hours_only() {
        let h = hours();
        assert!(h.is_open(at("2026-11-23T10:00:00Z")), "Monday 10:00 London");
        assert!(!h.is_open(at("2026-11-23T18:00:00Z")), "Monday evening");
        assert!(!h.is_open(at("2026-11-27T12:30:00Z")), "Friday lunch break");
        assert!(!h.is_open(at("2026-11-24T10:00:00Z")), "Tuesday is closed");
        assert!(
            !h.is_open(at("2026-12-25T10:00:00Z")),
            "a holiday (a Friday)"
        );
    }

    #[test]
    fn next_opening_skips_closed_days_and_holidays_and_speaks_the_visitors_time() {
        let h = hours();
        let next = h.next_open(at("2026-11-23T18:00:00Z")).unwrap();
        assert_eq!(next.timestamp(), at("2026-11-27T09:00:00Z"));
        assert_eq!(
            h.describe(&next, Some("America/New_York")),
            "Friday at 04:00 (your time)"
        );
        assert_eq!(
            h.describe(&next, None),
            "Friday at 09:00 (Europe/London time)"
        );
        let after_xmas_eve = h.next_open(at("2026-12-24T12:00:00Z")).unwrap();
        assert_eq!(after_xmas_eve.timestamp(), at("2026-12-28T09:00:00Z"));
    }

    #[test]
    fn the_summary_joins_days_with_the_same_hours() {
        let h = parse_hours(
            Path::new("hours.toml"),
            "timezone = \"Europe/London\"\n[week]\nmonday = \"08:00-20:00\"\ntuesday = \"08:00-20:00\"\nwednesday = \"08:00-20:00\"\nthursday = \"08:00-20:00\"\nfriday = \"08:00-20:00\"\nsaturday = \"10:00-16:00\"\n",
        )
        .unwrap();
        assert_eq!(
            h.summary(),
            "Monday to Friday 08:00-20:00, Saturday 10:00-16:00 (Europe/London time)"
        );
        assert_eq!(
            hours().summary(),
            "Monday 09:00-17:30, Friday 09:00-12:00 and 13:00-17:00 (Europe/London time)"
        );
    }

    #[test]
    fn errors_name_the_field_and_line() {
        let err = parse_hours(
            Path::new("hours.toml"),
            "timezone = \"Mars/Olympus\"\n[week]\nmonday = \"9-5\"\n",
        )
        .unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        let text = format!("{err:?}");
        assert!(
            text.contains("timezone") && text.contains("monday"),
            "{text}"
        );
    }
}
