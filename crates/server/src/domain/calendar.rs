//! Calendar arithmetic (proleptic Gregorian, UTC) for the date formats the wire uses: AWS JSON's
//! epoch seconds, SigV4's `X-Amz-Date`, SRP's `TIMESTAMP` and mail's RFC 5322 `Date`. Each format
//! lives with its user; the arithmetic lives only here.

pub const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
pub const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Epoch milliseconds as the epoch seconds AWS JSON dates are.
#[allow(clippy::cast_precision_loss, reason = "epoch milliseconds fit an f64 exactly until the year 287396")]
pub fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31). The year is shifted to start in March
/// so that the leap day is last; 400-year eras have exactly 146 097 days.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month 1-12, day 1-31) → days since 1970-01-01.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC instant broken into the fields date formats print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    /// 0 = Sunday.
    pub weekday: usize,
}

impl DateTime {
    pub fn from_epoch_seconds(seconds: i64) -> DateTime {
        let days = seconds.div_euclid(86_400);
        let t = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday.
        let weekday = usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0);
        DateTime { year, month, day, hour: t / 3600, minute: t % 3600 / 60, second: t % 60, weekday }
    }

    pub fn from_epoch_ms(ms: i64) -> DateTime {
        DateTime::from_epoch_seconds(ms.div_euclid(1000))
    }

    pub fn weekday_name(&self) -> &'static str {
        WEEKDAYS[self.weekday]
    }

    pub fn month_name(&self) -> &'static str {
        MONTHS[usize::try_from(self.month - 1).unwrap_or(0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 3, 5), 19_787);
        assert_eq!(civil_from_days(19_787), (2024, 3, 5));
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
        for d in (-800_000..800_000).step_by(997) {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn instants_split_into_fields() {
        let t = DateTime::from_epoch_ms(1_796_220_000_000);
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2026, 12, 2, 14, 0, 0));
        assert_eq!((t.weekday_name(), t.month_name()), ("Wed", "Dec"));
        assert_eq!(DateTime::from_epoch_seconds(0).weekday_name(), "Thu");
        assert!((epoch_seconds(1_500) - 1.5).abs() < f64::EPSILON);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
    }
}
