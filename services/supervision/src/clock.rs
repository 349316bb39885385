//! Which day it is (DATE-TZ): CLASS-FILING counts days before the first day, the roster locks on
//! the first day (ELIG-REALNAME), and inspections and certificates cannot be dated in the
//! future. The service reads the day from its clock: the system's in production, one a test
//! sets and moves so that a class filed before its first day can then be run.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use chrono::{Datelike as _, NaiveDate};

/// The service's clock: China's civil date now, or a day set by its owner.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI32>>);

impl Clock {
    /// The system clock, in China Standard Time.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stays on `day` until [`Clock::set`] moves it.
    pub fn fixed(day: NaiveDate) -> Self {
        Self(Some(Arc::new(AtomicI32::new(day.num_days_from_ce()))))
    }

    /// Moves a fixed clock to `day` (every copy of it moves); the system clock cannot be moved.
    pub fn set(&self, day: NaiveDate) {
        if let Some(days) = &self.0 {
            days.store(day.num_days_from_ce(), Ordering::SeqCst);
        }
    }

    /// Today.
    pub fn today(&self) -> NaiveDate {
        match &self.0 {
            None => qiancheng_domain::today_in_china(),
            Some(days) => NaiveDate::from_num_days_from_ce_opt(days.load(Ordering::SeqCst)).unwrap_or(NaiveDate::MIN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_for_every_copy() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        let clock = Clock::fixed(day);
        let copy = clock.clone();
        clock.set(day.succ_opt().expect("date"));
        assert_eq!(copy.today(), NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"));
    }
}
