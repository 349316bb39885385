//! Working days (工作日) from the national holiday calendar, rule DATE-WORKDAYS.
//!
//! The calendar is data (`cn-public-holidays.csv`: `date,kind,name`, `kind` being `holiday` or
//! `workday`). A year that appears in no row is not covered, and asking about it is an error,
//! never a guess: the State Council publishes each year's arrangement in November.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};

use crate::{Error, parse_date};

/// What the calendar declares about a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A statutory holiday (法定节假日), a rest day even on a weekday.
    Holiday,
    /// A weekend make-up working day (调休上班).
    Workday,
}

/// The national holiday calendar for the years it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayCalendar {
    days: BTreeMap<NaiveDate, DayKind>,
    years: BTreeSet<i32>,
}

impl HolidayCalendar {
    /// The calendar shipped with the crate (2025 and 2026).
    pub fn bundled() -> Self {
        Self::from_csv_str(include_str!("../../data/cn-public-holidays.csv"))
            .expect("the bundled holiday calendar is valid")
    }

    /// Read the calendar from CSV text with the header `date,kind,name`.
    pub fn from_csv_str(csv: &str) -> Result<Self, Error> {
        let mut days = BTreeMap::new();
        let mut years = BTreeSet::new();
        let mut lines = csv.lines().enumerate();
        match lines.next() {
            Some((_, header)) if header.trim().starts_with("date,kind") => {}
            _ => {
                return Err(Error::CalendarLine { line: 1, reason: "the header must be date,kind,name".to_owned() });
            }
        }
        for (index, line) in lines {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut cols = line.splitn(3, ',');
            let date = cols.next().unwrap_or_default();
            let kind = cols.next().unwrap_or_default();
            let date = parse_date(date).map_err(|e| Error::CalendarLine { line: line_no, reason: e.reason })?;
            let kind = match kind.trim() {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                other => {
                    return Err(Error::CalendarLine {
                        line: line_no,
                        reason: format!("kind {other} is neither holiday nor workday"),
                    });
                }
            };
            if days.insert(date, kind).is_some_and(|k| k != kind) {
                return Err(Error::CalendarLine {
                    line: line_no,
                    reason: format!("{date} is declared twice with different kinds"),
                });
            }
            years.insert(date.year());
        }
        Ok(Self { days, years })
    }

    /// This calendar with the days of `later` added (a year published after the suite was built,
    /// loaded from a file): a day both declare must be of the same kind.
    pub fn merged(mut self, later: &HolidayCalendar) -> Result<Self, Error> {
        for (date, kind) in &later.days {
            if self.days.insert(*date, *kind).is_some_and(|k| k != *kind) {
                return Err(Error::CalendarLine {
                    line: 0,
                    reason: format!("{date} is declared with another kind already"),
                });
            }
        }
        self.years.extend(later.years.iter().copied());
        Ok(self)
    }

    /// The bundled calendar with the days of the CSV `file` (`date,kind,name`, the format of
    /// the bundled one) added: how a later year's calendar is loaded without a code change.
    pub fn bundled_with_file(file: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let later = Self::from_csv_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        Self::bundled().merged(&later).map_err(|e| format!("{}: {e}", file.display()))
    }

    /// The years the calendar covers.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Whether `date` is a working day; an error if its year is not covered (DATE-WORKDAYS).
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, Error> {
        if !self.years.contains(&date.year()) {
            return Err(Error::YearNotCovered { year: date.year() });
        }
        Ok(match self.days.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    /// The date `n` working days after `date` (not counting `date` itself); `n = 0` is `date`.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, Error> {
        let mut current = date;
        let mut left = n;
        while left > 0 {
            current = current.succ_opt().ok_or(Error::YearNotCovered { year: date.year() })?;
            if self.is_working_day(current)? {
                left -= 1;
            }
        }
        Ok(current)
    }

    /// The `n`th working day counting `start` as the first if it is a working day: the last day
    /// of a period of `n` working days that begins on `start` (SUBS-NOTICE).
    pub fn nth_working_day_from(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, Error> {
        if n == 0 {
            return Ok(start);
        }
        if self.is_working_day(start)? { self.add_working_days(start, n - 1) } else { self.add_working_days(start, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn a_later_year_is_loaded_beside_the_bundled_ones_and_a_contradiction_is_refused() {
        let later = HolidayCalendar::from_csv_str("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,调休\n")
            .expect("valid");
        let cal = HolidayCalendar::bundled().merged(&later).expect("merged");
        assert!(cal.is_working_day(d(2026, 12, 31)).expect("2026 still covered"));
        assert!(!cal.is_working_day(d(2027, 1, 1)).expect("2027 covered now"));
        assert!(cal.is_working_day(d(2027, 2, 20)).expect("a Saturday made a working day"));
        assert!(HolidayCalendar::bundled().is_working_day(d(2027, 1, 4)).is_err(), "2027 is not bundled");
        let contradicting = HolidayCalendar::from_csv_str("date,kind,name\n2026-10-01,workday,x\n").expect("valid");
        assert!(HolidayCalendar::bundled().merged(&contradicting).is_err());
    }

    #[test]
    fn date_workdays_weekends_holidays_and_make_up_days() {
        let cal = HolidayCalendar::bundled();
        assert!(cal.is_working_day(d(2026, 2, 13)).expect("covered"));
        assert!(cal.is_working_day(d(2026, 2, 14)).expect("make-up saturday"));
        assert!(!cal.is_working_day(d(2026, 2, 16)).expect("spring festival"));
        assert!(cal.is_working_day(d(2026, 2, 28)).expect("make-up saturday"));
        assert!(!cal.is_working_day(d(2026, 3, 1)).expect("sunday"));
        assert!(!cal.is_working_day(d(2025, 10, 8)).expect("national day"));
        assert!(cal.is_working_day(d(2025, 10, 11)).expect("make-up saturday"));
    }

    #[test]
    fn date_workdays_uncovered_year_is_an_error() {
        let cal = HolidayCalendar::bundled();
        assert!(matches!(cal.is_working_day(d(2027, 3, 1)), Err(Error::YearNotCovered { year: 2027 })));
        assert!(cal.add_working_days(d(2026, 12, 30), 5).is_err());
    }

    #[test]
    fn date_workdays_add_across_national_day() {
        let cal = HolidayCalendar::bundled();
        // 2025-09-30 (Tue) + 1 working day skips 10-01..10-08 to Thursday 10-09.
        assert_eq!(cal.add_working_days(d(2025, 9, 30), 1).expect("ok"), d(2025, 10, 9));
        assert_eq!(cal.add_working_days(d(2025, 9, 30), 0).expect("ok"), d(2025, 9, 30));
    }

    #[test]
    fn date_workdays_refuses_malformed_csv() {
        assert!(HolidayCalendar::from_csv_str("date,kind,name\n2025-13-01,holiday,x\n").is_err());
        assert!(HolidayCalendar::from_csv_str("date,kind,name\n2025-01-01,rest,x\n").is_err());
        assert!(HolidayCalendar::from_csv_str("nope\n").is_err());
        let cal = HolidayCalendar::from_csv_str("date,kind,name\n2030-01-01,holiday,元旦\n")
            .expect("a later year loads without a code change");
        assert!(!cal.is_working_day(d(2030, 1, 1)).expect("covered"));
    }
}
