//! Which day it is for a service (DATE-TZ): the system's civil day in China, or a day a test sets
//! and moves, so that deadlines and windows counted in days can be lived through. (Supervision's
//! clock also knows the instant and can read a development file; it keeps its own.)

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use chrono::{Datelike as _, NaiveDate};

/// The service's clock; copies share a fixed day.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI32>>);

impl Clock {
    /// Today in China from the system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock standing on `day` until set again.
    pub fn fixed(day: NaiveDate) -> Self {
        Self(Some(Arc::new(AtomicI32::new(day.num_days_from_ce()))))
    }

    /// Moves a fixed clock (and every copy of it) to `day`; the system clock does not move.
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
