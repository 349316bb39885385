//! Civil dates in China Standard Time and month arithmetic, rules DATE-TZ and DATE-MONTHS.

use chrono::{FixedOffset, Months, NaiveDate, NaiveDateTime, TimeZone as _, Utc};

use crate::error::ValueError;

/// China Standard Time: UTC+8, no daylight saving (DATE-TZ).
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Today's civil date in China Standard Time, DATE-TZ.
pub fn today_in_china() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}

/// The civil date in China of an instant given in microseconds since the epoch, DATE-TZ; `None`
/// for an instant chrono cannot represent.
pub fn day_in_china(micros: i64) -> Option<NaiveDate> {
    china().timestamp_micros(micros).single().map(|t| t.date_naive())
}

/// The instant of `at`, a civil time in China, in microseconds since the epoch, DATE-TZ (the
/// inverse of [`day_in_china`] for the day).
pub fn china_micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros() - i64::from(china().local_minus_utc()) * 1_000_000
}

/// Parse a civil date written `YYYY-MM-DD` (exactly, zero-padded).
pub fn parse_date(raw: &str) -> Result<NaiveDate, ValueError> {
    let s = raw.trim();
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(ValueError::new("DATE", format!("{} is not a date yyyy-mm-dd", crate::quote(s))));
    }
    // The shape is checked: the digits are read in place (a page of records reads many dates).
    let number = |from: usize, to: usize| s.as_bytes()[from..to].iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    i32::try_from(number(0, 4))
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, number(5, 7), number(8, 10)))
        .ok_or_else(|| ValueError::new("DATE", format!("{} is not a real date", crate::quote(s))))
}

/// `date` plus `months` calendar months, clamped to the month's last day (DATE-MONTHS):
/// 2025-08-31 + 6 months = 2026-02-28.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    // chrono clamps to the last day of the target month, which is exactly DATE-MONTHS.
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// Whether `date` lies in the inclusive window `[start, end]` (DATE-MONTHS: windows include both
/// ends).
pub fn in_window(date: NaiveDate, start: NaiveDate, end: NaiveDate) -> bool {
    start <= date && date <= end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_falls_on_its_day_in_china() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        // 2026-12-01 16:00 UTC is midnight in China: the last microsecond before it is still 1 December.
        let midnight = 1_796_140_800_000_000;
        assert_eq!(day_in_china(midnight - 1), Some(day(2026, 12, 1)));
        assert_eq!(day_in_china(midnight), Some(day(2026, 12, 2)));
        assert_eq!(day_in_china(i64::MAX), None);
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn date_months_clamps_to_month_end() {
        assert_eq!(add_months(d(2025, 8, 31), 6), d(2026, 2, 28));
        assert_eq!(add_months(d(2023, 8, 31), 6), d(2024, 2, 29));
        assert_eq!(add_months(d(2025, 6, 6), 6), d(2025, 12, 6));
        assert_eq!(add_months(d(2025, 1, 31), 1), d(2025, 2, 28));
    }

    #[test]
    fn date_parse_is_strict() {
        assert_eq!(parse_date("2025-06-06").expect("ok"), d(2025, 6, 6));
        for bad in ["2025-6-6", "2025/06/06", "2025-02-30", "20250606"] {
            assert_eq!(parse_date(bad).expect_err(bad).rule, "DATE");
        }
    }

    #[test]
    fn date_parse_reads_what_chrono_reads() {
        for year in ["0000", "1999", "2024", "2025", "9999"] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let text = format!("{year}-{month:02}-{day:02}");
                    let chrono = NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
                    assert_eq!(parse_date(&text).ok(), chrono, "{text}");
                }
            }
        }
        assert_eq!(parse_date(" 2025-06-06\n").expect("trimmed"), d(2025, 6, 6));
    }

    #[test]
    fn date_windows_include_both_ends() {
        assert!(in_window(d(2025, 1, 1), d(2025, 1, 1), d(2025, 1, 2)));
        assert!(in_window(d(2025, 1, 2), d(2025, 1, 1), d(2025, 1, 2)));
        assert!(!in_window(d(2025, 1, 3), d(2025, 1, 1), d(2025, 1, 2)));
    }

    #[test]
    fn date_tz_today_is_a_date() {
        let today = today_in_china();
        assert!(today.signed_duration_since(Utc::now().date_naive()).num_days().abs() <= 1);
    }
}
