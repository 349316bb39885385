//! Which day it is (DATE-TZ): the claim deadline (SUBS-DEADLINE) and the days of public notice
//! (SUBS-NOTICE) are counted in civil days. The service reads the day from its clock: the
//! system's in production, one a test sets and moves.

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
