//! Explanations per audience (issue of supervision's integrity, 8): a rule's reason may tell what
//! its reader may not know. The policy core marks such a reason with what it discloses and a
//! withheld form ([`qiancheng_domain::policy::Discloses`]); this module decides, once for the
//! suite, which callers may know what, and every service shows rules through it.
//!
//! | discloses | who may know it |
//! |---|---|
//! | another class of the person (ELIG-OVERLAP: its dates, its provider) | the city, county officers, auditors, services |
//! | the person's birth date (ELIG-AGE: the 16th birthday, the retirement date) | those who see ID numbers whole: the city, county officers, the trainee's provider, services |
//!
//! A provider refused under ELIG-OVERLAP learns that the person is on an overlapping class filed
//! earlier, not whose or when; an auditor, who sees ID numbers masked, is not told a retirement
//! date from which the birth date follows. Services read the full reason: they show it onward
//! through this same module.

use qiancheng_domain::policy::{Decision, Discloses, RuleResult};

use crate::auth::{Principal, Role};

/// What a caller may know of what rules' reasons disclose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    other_classes: bool,
    birth_dates: bool,
}

impl Audience {
    /// An audience that may know everything a reason discloses (an officer, a service).
    pub const WHOLE: Self = Self { other_classes: true, birth_dates: true };

    /// An audience that may know nothing beyond the subject's own record.
    pub const NARROW: Self = Self { other_classes: false, birth_dates: false };

    /// The audience of `principal`'s call.
    pub fn of(principal: &Principal) -> Self {
        Self {
            other_classes: principal.has_any(&[Role::CityAdmin, Role::CountyOfficer, Role::Auditor, Role::Service]),
            birth_dates: principal.has_any(&[Role::CityAdmin, Role::CountyOfficer, Role::Provider, Role::Service]),
        }
    }

    /// Whether the audience may know what `discloses` names.
    pub fn may_know(self, discloses: Discloses) -> bool {
        match discloses {
            Discloses::OtherClass => self.other_classes,
            Discloses::BirthDate => self.birth_dates,
        }
    }

    /// `rule` as this audience is shown it.
    pub fn rule(self, rule: &RuleResult) -> RuleResult {
        rule.shown(|d| self.may_know(d))
    }

    /// Every rule of `rules` as this audience is shown it.
    pub fn rules(self, rules: &[RuleResult]) -> Vec<RuleResult> {
        rules.iter().map(|r| self.rule(r)).collect()
    }

    /// `decision` as this audience is shown it.
    pub fn decision<T: Clone>(self, decision: &Decision<T>) -> Decision<T> {
        Decision { rules: self.rules(&decision.rules), ..decision.clone() }
    }
}

#[cfg(test)]
mod tests {
    use qiancheng_domain::RegionCode;

    use super::*;

    fn principal(roles: &[Role]) -> Principal {
        Principal { subject: "u".into(), roles: roles.to_vec(), region: Some(RegionCode::Jiayu), org: Some("P".into()) }
    }

    fn overlap() -> RuleResult {
        RuleResult::fail("ELIG-OVERLAP", "在2026-03-01至2026-03-20的班次中", "on a class from 2026-03-01 to 2026-03-20")
            .withholding(Discloses::OtherClass, "在重叠的班次中", "on an overlapping class")
    }

    fn age() -> RuleResult {
        RuleResult::fail("ELIG-AGE", "已于2026-02-01达到退休年龄", "retired on 2026-02-01").withholding(
            Discloses::BirthDate,
            "已达退休年龄",
            "at or above the retirement age",
        )
    }

    #[test]
    fn a_provider_is_not_told_another_class_but_sees_its_trainees_dates() {
        let provider = Audience::of(&principal(&[Role::Provider]));
        let shown = provider.rule(&overlap());
        assert_eq!((shown.reason_zh.as_str(), shown.reason_en.as_str()), ("在重叠的班次中", "on an overlapping class"));
        assert!(shown.withheld.is_none() && !shown.passed && shown.code == "ELIG-OVERLAP");
        assert_eq!(provider.rule(&age()), age(), "a provider sees its trainees' ID numbers whole");
    }

    #[test]
    fn an_auditor_sees_other_classes_but_no_birth_date() {
        let auditor = Audience::of(&principal(&[Role::Auditor]));
        assert_eq!(auditor.rule(&overlap()), overlap());
        let shown = auditor.rule(&age());
        assert!(!shown.reason_zh.contains("2026") && !shown.reason_en.contains("2026"), "{shown:?}");
    }

    #[test]
    fn officers_and_services_see_everything_others_nothing() {
        for role in [Role::CityAdmin, Role::CountyOfficer, Role::Service] {
            assert_eq!(Audience::of(&principal(&[role])), Audience::WHOLE, "{role}");
        }
        for role in [Role::Enterprise, Role::Expert, Role::FinanceOfficer, Role::DataExchange] {
            assert_eq!(Audience::of(&principal(&[role])), Audience::NARROW, "{role}");
        }
    }

    #[test]
    fn a_reason_that_discloses_nothing_is_shown_whole_to_anyone() {
        let plain = RuleResult::fail("ELIG-FISCAL", "财政供养人员", "budget-paid");
        assert_eq!(Audience::NARROW.rule(&plain), plain);
        let decision = Decision { outcome: false, policy_version: "v".into(), rules: vec![plain.clone(), overlap()] };
        let shown = Audience::NARROW.decision(&decision);
        assert_eq!(shown.rules[0], plain);
        assert_eq!(shown.rules[1].reason_en, "on an overlapping class");
    }
}
