//! Which day and instant it is for a service (DATE-TZ): deadlines and windows are counted in civil
//! days in China (CLASS-FILING, OUT-WINDOW, SUBS-DEADLINE, SUBS-NOTICE), and supervision also
//! refuses check-ins, inspections and certificates dated in the future. A service reads the time
//! from its clock: the system's in production; one a test sets and moves, so that a class filed
//! before its first day can then be lived through; or, for development and demonstrations only
//! (`qiancheng dev`), one read from a file that a person or a script edits
//! (`QIANCHENG_SUPERVISION_CLOCK_FILE`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use qiancheng_domain::china_micros;

/// The service's clock: the system's, one set by its owner, or one read from a file.
#[derive(Debug, Clone, Default)]
pub struct Clock(Source);

#[derive(Debug, Clone, Default)]
enum Source {
    #[default]
    System,
    Fixed(Arc<AtomicI64>),
    File(Arc<PathBuf>),
}

/// The last instant of `day` in China: a clock set to a day has lived all of it.
fn end_of(day: NaiveDate) -> i64 {
    china_micros(day.and_time(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or_default()))
}

/// A clock file's text: `YYYY-MM-DD` (the end of that day) or `YYYY-MM-DDTHH:MM:SS`, China time.
fn parse_setting(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        return Some(china_micros(at));
    }
    qiancheng_domain::parse_date(text).ok().map(end_of)
}

impl Clock {
    /// The system clock, in China Standard Time.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock that stays at the end of `day` until [`Clock::set`] or [`Clock::set_at`] moves it.
    pub fn fixed(day: NaiveDate) -> Self {
        Self(Source::Fixed(Arc::new(AtomicI64::new(end_of(day)))))
    }

    /// A clock read from `path` at every use (development only): `YYYY-MM-DD` for the end of that
    /// day or `YYYY-MM-DDTHH:MM:SS`, China time; the system clock while the file is missing or
    /// holds anything else.
    pub fn from_file(path: PathBuf) -> Self {
        Self(Source::File(Arc::new(path)))
    }

    /// Whether the clock is the system's.
    pub fn is_system(&self) -> bool {
        matches!(self.0, Source::System)
    }

    /// Moves a fixed clock to the end of `day` (every copy of it moves); other clocks stay.
    pub fn set(&self, day: NaiveDate) {
        self.set_at(end_of(day));
    }

    /// Moves a fixed clock to the instant `micros` (every copy of it moves); other clocks stay.
    pub fn set_at(&self, micros: i64) {
        if let Source::Fixed(now) = &self.0 {
            now.store(micros, Ordering::SeqCst);
        }
    }

    /// Now, microseconds since the epoch.
    pub fn now_micros(&self) -> i64 {
        match &self.0 {
            Source::System => crate::time::now_micros(),
            Source::Fixed(now) => now.load(Ordering::SeqCst),
            Source::File(path) => std::fs::read_to_string(path.as_path())
                .ok()
                .and_then(|text| parse_setting(&text))
                .unwrap_or_else(crate::time::now_micros),
        }
    }

    /// Today in China.
    pub fn today(&self) -> NaiveDate {
        match &self.0 {
            Source::System => qiancheng_domain::today_in_china(),
            _ => qiancheng_domain::day_in_china(self.now_micros()).unwrap_or(NaiveDate::MIN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn a_fixed_clock_moves_for_every_copy() {
        let clock = Clock::fixed(day(2026, 12, 1));
        let copy = clock.clone();
        clock.set(day(2026, 12, 2));
        assert_eq!(copy.today(), day(2026, 12, 2));
        let morning = china_micros(day(2026, 12, 3).and_hms_opt(8, 0, 0).expect("time"));
        clock.set_at(morning);
        assert_eq!((copy.today(), copy.now_micros()), (day(2026, 12, 3), morning));
    }

    #[test]
    fn a_day_is_lived_to_its_end_in_china() {
        let clock = Clock::fixed(day(2027, 3, 1));
        let last = china_micros(day(2027, 3, 1).and_hms_micro_opt(23, 59, 59, 999_999).expect("time"));
        assert_eq!(clock.now_micros(), last);
        assert_eq!(qiancheng_domain::day_in_china(last + 1), Some(day(2027, 3, 2)));
    }

    #[test]
    fn a_clock_file_sets_the_day_or_the_instant_and_falls_back_to_the_system() {
        let dir = std::env::temp_dir().join(format!("qiancheng-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("clock");
        let clock = Clock::from_file(path.clone());
        assert!(clock.today() >= day(2026, 1, 1), "no file: the system clock");
        std::fs::write(&path, "2027-03-01\n").expect("write");
        assert_eq!(clock.today(), day(2027, 3, 1));
        std::fs::write(&path, "2027-03-02T08:30:00").expect("write");
        let at = china_micros(day(2027, 3, 2).and_hms_opt(8, 30, 0).expect("time"));
        assert_eq!((clock.today(), clock.now_micros()), (day(2027, 3, 2), at));
        std::fs::write(&path, "next tuesday").expect("write");
        assert!(clock.today() >= day(2026, 1, 1), "unreadable: the system clock");
        std::fs::remove_dir_all(&dir).ok();
    }
}
