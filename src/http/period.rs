//! A reporting period as the admin page and the integration API ask for it: the last `days`
//! days, or `from`/`to` in milliseconds since the epoch.

use serde::Deserialize;
use utoipa::IntoParams;

/// The longest period a report covers, in days.
pub(crate) const MAX_DAYS: u64 = 366;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Period {
    /// The last `days` days (default 7).
    #[param(minimum = 1, maximum = 366)]
    days: Option<u64>,
    /// Or from this time (ms since the epoch)...
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    from: Option<u64>,
    /// ...to this one (default now).
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    to: Option<u64>,
}

/// Why a period was refused: a stable code and a sentence for people.
#[derive(Debug, PartialEq)]
pub(crate) struct BadPeriod {
    pub code: &'static str,
    pub message: String,
}

/// Times in ms are at most `i64::MAX` (what the API document says and the stores keep).
pub(crate) fn check_millis(times: &[Option<u64>]) -> Result<(), BadPeriod> {
    if times.iter().flatten().any(|t| *t > i64::MAX as u64) {
        return Err(BadPeriod {
            code: "invalid_query",
            message: "a time is milliseconds since the epoch, at most 9223372036854775807".into(),
        });
    }
    Ok(())
}

impl Period {
    /// `[from, to)`, `to` defaulting to (and at most) `now`; `from` at or after `to` is an empty
    /// period.
    pub(crate) fn range(&self, now: u64) -> Result<(u64, u64), BadPeriod> {
        check_millis(&[self.from, self.to])?;
        let days = self.days.unwrap_or(7);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(BadPeriod {
                code: "bad_period",
                message: format!("days must be 1 to {MAX_DAYS}"),
            });
        }
        // Nothing has happened after now: a `to` in the future (the schema's maximum, a clock
        // ahead) means now, so `days` count back from now, not from that future.
        let to = self.to.map_or(now, |to| to.min(now));
        let from = self
            .from
            .unwrap_or_else(|| to.saturating_sub(days * 86_400_000));
        Ok((from.min(to), to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(days: Option<u64>, from: Option<u64>, to: Option<u64>) -> Period {
        Period { days, from, to }
    }

    #[test]
    fn a_to_in_the_future_is_now() {
        let now = 10 * 86_400_000;
        let max = Some(i64::MAX as u64);
        assert_eq!(
            period(None, None, max).range(now),
            Ok((3 * 86_400_000, now)),
            "the last 7 days, not 7 days before the end of time"
        );
        assert_eq!(period(None, Some(5), max).range(now), Ok((5, now)));
    }

    #[test]
    fn a_period_is_days_back_from_now_or_from_to() {
        let now = 10 * 86_400_000;
        assert_eq!(
            period(None, None, None).range(now),
            Ok((3 * 86_400_000, now))
        );
        assert_eq!(
            period(Some(1), None, None).range(now),
            Ok((9 * 86_400_000, now))
        );
        assert_eq!(period(None, Some(5), Some(9)).range(now), Ok((5, 9)));
        // Backwards is empty, not an error.
        assert_eq!(period(None, Some(9), Some(5)).range(now), Ok((5, 5)));
        for days in [0, MAX_DAYS + 1] {
            assert_eq!(
                period(Some(days), None, None).range(now).unwrap_err().code,
                "bad_period"
            );
        }
        assert_eq!(
            period(None, Some(u64::MAX), None)
                .range(now)
                .unwrap_err()
                .code,
            "invalid_query"
        );
    }
}
