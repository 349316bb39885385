//! Which day it is for subsidy (DATE-TZ): the claim deadline (SUBS-DEADLINE) and the days of
//! public notice (SUBS-NOTICE) are counted in civil days; the platform's day clock, the system's
//! in production and one a test sets.

pub use qiancheng_platform::clock::Clock;
