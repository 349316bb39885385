//! Completion (结业): CLASS-ATTENDANCE and CLASS-COMPLETION.

use crate::policy::decision::{Decision, RuleResult};
use crate::policy::set::PolicySet;

/// CLASS-ATTENDANCE: attended at least `min_attendance` of the class hours, compared exactly by
/// cross-multiplication (80 of 100 hours passes, 79 does not).
pub fn class_attendance(policy: &PolicySet, class_hours: u32, attended_hours: u32) -> RuleResult {
    let min = policy.min_attendance;
    let left = u128::from(attended_hours) * u128::from(min.denominator);
    let right = u128::from(class_hours) * u128::from(min.numerator);
    if class_hours > 0 && left >= right {
        RuleResult::pass(
            "CLASS-ATTENDANCE",
            format!("出勤{attended_hours}/{class_hours}学时,达到{}", min.percent_display()),
            format!("attended {attended_hours} of {class_hours} hours, at least {}", min.percent_display()),
        )
    } else {
        RuleResult::fail(
            "CLASS-ATTENDANCE",
            format!("出勤{attended_hours}/{class_hours}学时,不足{}", min.percent_display()),
            format!("attended {attended_hours} of {class_hours} hours, below {}", min.percent_display()),
        )
    }
}

/// CLASS-COMPLETION: the completion assessment (结业考核) was passed.
pub fn class_completion(assessment_passed: bool) -> RuleResult {
    if assessment_passed {
        RuleResult::pass("CLASS-COMPLETION", "结业考核合格", "passed the completion assessment")
    } else {
        RuleResult::fail("CLASS-COMPLETION", "结业考核未通过", "did not pass the completion assessment")
    }
}

/// Whether a trainee completed the class: attendance and the assessment.
pub fn evaluate_completion(
    policy: &PolicySet,
    class_hours: u32,
    attended_hours: u32,
    assessment_passed: bool,
) -> Decision<bool> {
    let rules = vec![class_attendance(policy, class_hours, attended_hours), class_completion(assessment_passed)];
    Decision { outcome: rules.iter().all(|r| r.passed), policy_version: policy.version.clone(), rules }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_attendance_exactly_80_percent_passes() {
        let p = PolicySet::xianning_2025_5_v1();
        assert!(class_attendance(&p, 100, 80).passed);
        assert!(!class_attendance(&p, 100, 79).passed);
        // 56 of 70 is exactly 80%; 55 of 70 is 78.57%.
        assert!(class_attendance(&p, 70, 56).passed);
        assert!(!class_attendance(&p, 70, 55).passed);
        assert!(!class_attendance(&p, 0, 0).passed);
    }

    #[test]
    fn class_completion_needs_assessment_and_attendance() {
        let p = PolicySet::xianning_2025_5_v1();
        assert!(evaluate_completion(&p, 100, 100, true).outcome);
        let failed = evaluate_completion(&p, 100, 100, false);
        assert_eq!(failed.first_failure().expect("fails").code, "CLASS-COMPLETION");
    }
}
