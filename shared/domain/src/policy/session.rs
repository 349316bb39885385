//! Teaching sessions (课次) of a class against its filing (二(三) 过程监督, 七(三)): the sessions of a
//! class add up to no more than the theory hours and the practice hours it filed, each kind on its
//! own (SESSION_HOURS_FILED), and one day holds no more than a daily maximum of session hours
//! (SESSION_HOURS_DAILY). The daily maximum is the suite's interpretation of a training day (8
//! hours by default, a parameter of the service), not a figure of the plan.
//!
//! With both, what a class records can never exceed what was filed and acknowledged: 108 hours
//! cannot be attended in a 100-hour class, and sixty hours cannot be crammed into one day.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::policy::decision::RuleResult;

/// A session as these rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionHours {
    /// The day it is held.
    pub day: NaiveDate,
    /// Practice (实操) rather than theory (理论).
    pub practice: bool,
    /// Its hours.
    pub hours: u32,
}

/// SESSION_HOURS_FILED: the theory sessions add up to at most `theory_filed` hours and the
/// practice sessions to at most `practice_filed`, each kind on its own (theory hours spare do
/// not make room for practice). `sessions` are every session of the class, stored and new.
pub fn session_hours_filed(theory_filed: u32, practice_filed: u32, sessions: &[SessionHours]) -> RuleResult {
    let sum = |practice: bool| -> u64 {
        sessions.iter().filter(|s| s.practice == practice).map(|s| u64::from(s.hours)).sum()
    };
    let (theory, practice) = (sum(false), sum(true));
    let over = if theory > u64::from(theory_filed) {
        Some(("理论", "theory", theory, theory_filed))
    } else if practice > u64::from(practice_filed) {
        Some(("实操", "practice", practice, practice_filed))
    } else {
        None
    };
    match over {
        None => RuleResult::pass(
            "SESSION_HOURS_FILED",
            format!("课次合计理论{theory}学时、实操{practice}学时,未超过备案的{theory_filed}、{practice_filed}学时"),
            format!(
                "sessions add up to {theory} theory and {practice} practice hours, within the filed \
                 {theory_filed} and {practice_filed}"
            ),
        ),
        Some((zh, en, total, filed)) => RuleResult::fail(
            "SESSION_HOURS_FILED",
            format!("课次合计{zh}{total}学时,超过备案的{zh}{filed}学时"),
            format!("sessions add up to {total} {en} hours, above the {filed} {en} hours filed"),
        ),
    }
}

/// SESSION_HOURS_DAILY: no day holds more than `max_daily` hours of sessions (the suite's
/// interpretation of a training day). The first day over is named.
pub fn session_hours_daily(max_daily: u32, sessions: &[SessionHours]) -> RuleResult {
    let mut by_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for s in sessions {
        *by_day.entry(s.day).or_default() += u64::from(s.hours);
    }
    match by_day.iter().find(|(_, hours)| **hours > u64::from(max_daily)) {
        None => RuleResult::pass(
            "SESSION_HOURS_DAILY",
            format!("每日课次不超过{max_daily}学时(本系统对培训日的解释)"),
            format!(
                "no day holds more than {max_daily} hours of sessions (the suite's interpretation of a training day)"
            ),
        ),
        Some((day, hours)) => RuleResult::fail(
            "SESSION_HOURS_DAILY",
            format!("{day}课次合计{hours}学时,超过每日{max_daily}学时(本系统对培训日的解释)"),
            format!(
                "sessions on {day} add up to {hours} hours, above {max_daily} a day (the suite's interpretation \
                 of a training day)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(d: u32, practice: bool, hours: u32) -> SessionHours {
        SessionHours { day: NaiveDate::from_ymd_opt(2027, 3, d).expect("date"), practice, hours }
    }

    #[test]
    fn each_kind_is_held_to_its_own_filed_hours() {
        // 40 theory and 60 practice filed.
        let full: Vec<SessionHours> =
            (1..=5).map(|d| on(d, false, 8)).chain((6..=15).map(|d| on(d, true, 6))).collect();
        assert!(session_hours_filed(40, 60, &full).passed, "exactly the filed hours");
        let mut theory_over = full.clone();
        theory_over.push(on(20, false, 1));
        let failed = session_hours_filed(40, 60, &theory_over);
        assert!(!failed.passed && failed.reason_en.contains("41 theory"), "{}", failed.reason_en);
        let mut practice_over = full.clone();
        practice_over.push(on(20, true, 1));
        let failed = session_hours_filed(40, 60, &practice_over);
        assert!(!failed.passed && failed.reason_en.contains("61 practice"), "{}", failed.reason_en);
        // Theory to spare does not make room for practice.
        let spare: Vec<SessionHours> = (1..=11).map(|d| on(d, true, 6)).collect();
        assert!(!session_hours_filed(40, 60, &spare).passed, "66 practice hours with theory unused");
        assert!(session_hours_filed(0, 0, &[]).passed);
    }

    #[test]
    fn a_day_holds_at_most_the_daily_maximum() {
        assert!(session_hours_daily(8, &[on(1, false, 4), on(1, true, 4), on(2, true, 8)]).passed);
        let failed = session_hours_daily(8, &[on(1, false, 4), on(2, true, 4), on(2, true, 5)]);
        assert!(!failed.passed && failed.reason_en.contains("2027-03-02") && failed.reason_en.contains("9 hours"));
        assert!(failed.reason_en.contains("interpretation"), "labelled as the suite's interpretation");
        assert!(session_hours_daily(12, &[on(1, true, 12)]).passed);
        assert!(!session_hours_daily(11, &[on(1, true, 12)]).passed);
    }
}
