//! Which day it is for outcome (DATE-TZ): windows (OUT-WINDOW) and rates on a day are counted in
//! civil days; the platform's day clock, the system's in production and one a test sets.

pub use qiancheng_platform::clock::Clock;
