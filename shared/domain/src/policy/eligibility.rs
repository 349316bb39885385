//! Trainee eligibility (培训对象资格): PERSON-ID and the ELIG-* rules.
//!
//! Each rule is a named function returning a [`RuleResult`]; [`evaluate_trainee_eligibility`]
//! runs them all so the decision lists every reason, not only the first.

use chrono::NaiveDate;

use crate::policy::decision::{Decision, RuleResult};
use crate::policy::facts::{ClassFacts, TraineeFacts};
use crate::policy::set::PolicySet;
use crate::{IdNumber, OccupationCode, SkillLevel, TargetGroup};

/// PERSON-ID: the recorded number is a valid resident ID number.
pub fn person_id(raw: &str) -> (RuleResult, Option<IdNumber>) {
    match IdNumber::parse(raw) {
        Ok(id) => (RuleResult::pass("PERSON-ID", "身份证号码有效", "the id number is valid"), Some(id)),
        Err(e) => {
            (RuleResult::fail("PERSON-ID", "身份证号码无效", format!("the id number is invalid: {}", e.reason)), None)
        }
    }
}

/// Completed months between `birth` and `date`: a month is complete on the same day of month,
/// as [`IdNumber::age_on`] counts years.
fn completed_months(birth: NaiveDate, date: NaiveDate) -> u32 {
    use chrono::Datelike;
    if date < birth {
        return 0;
    }
    let mut months = (date.year() - birth.year()) * 12 + date.month() as i32 - birth.month() as i32;
    if date.day() < birth.day() {
        months -= 1;
    }
    u32::try_from(months).unwrap_or(0)
}

/// ELIG-AGE: on the class's first day the trainee is at least `min_age` and below the
/// retirement age for their sex and birth cohort.
pub fn elig_age(policy: &PolicySet, id: Option<&IdNumber>, first_day: NaiveDate) -> RuleResult {
    let Some(id) = id else {
        return RuleResult::fail(
            "ELIG-AGE",
            "身份证号码无效,无法判断年龄",
            "age cannot be judged without a valid id number",
        );
    };
    let age = id.age_on(first_day);
    if age < policy.min_age {
        return RuleResult::fail(
            "ELIG-AGE",
            format!("开班首日{first_day}未满{}周岁(实际{age}周岁)", policy.min_age),
            format!("under {} on the first day {first_day} (age {age})", policy.min_age),
        );
    }
    let Some(retire) = policy.retirement_age_months(id.sex(), id.birth_date()) else {
        return RuleResult::fail(
            "ELIG-AGE",
            "政策参数未规定该出生人群的退休年龄",
            "the policy set has no retirement age for this birth cohort",
        );
    };
    if completed_months(id.birth_date(), first_day) >= retire {
        return RuleResult::fail(
            "ELIG-AGE",
            format!("开班首日{first_day}已达法定退休年龄"),
            format!("at or above the retirement age on the first day {first_day}"),
        );
    }
    RuleResult::pass(
        "ELIG-AGE",
        format!("开班首日{age}周岁,处于劳动年龄内"),
        format!("aged {age} on the first day, of working age"),
    )
}

/// ELIG-FISCAL: budget-paid personnel (财政供养人员) are never subsidised.
pub fn elig_fiscal(trainee: &TraineeFacts) -> RuleResult {
    if trainee.budget_paid {
        RuleResult::fail(
            "ELIG-FISCAL",
            "财政供养人员不享受培训补贴",
            "personnel paid from the public budget are excluded",
        )
    } else {
        RuleResult::pass("ELIG-FISCAL", "非财政供养人员", "not paid from the public budget")
    }
}

/// ELIG-GROUP: the trainee has one of the plan's ten target groups (the type guarantees it;
/// the result records which).
pub fn elig_group(group: TargetGroup) -> RuleResult {
    RuleResult::pass(
        "ELIG-GROUP",
        format!("培训对象类别:{}", group.name_zh()),
        format!("target group {}", group.code()),
    )
}

/// ELIG-OVERLAP: the person is on no other class whose dates overlap this one.
pub fn elig_overlap(trainee: &TraineeFacts, class: &ClassFacts) -> RuleResult {
    let clash = trainee.other_classes.iter().find(|o| o.from <= class.last_day && class.first_day <= o.to);
    match clash {
        Some(o) => RuleResult::fail(
            "ELIG-OVERLAP",
            format!("同时在{}至{}的其他班次名单中", o.from, o.to),
            format!("also on another class from {} to {}", o.from, o.to),
        ),
        None => RuleResult::pass("ELIG-OVERLAP", "无时间重叠的其他班次", "no overlapping class"),
    }
}

/// ELIG-ONCE: not subsidised before for the same occupation and level.
pub fn elig_once(
    policy: &PolicySet,
    trainee: &TraineeFacts,
    occupation: &OccupationCode,
    level: SkillLevel,
) -> RuleResult {
    let before = trainee.prior_subsidies.iter().any(|p| &p.occupation == occupation && p.level == level);
    if policy.once_per_occupation_level && before {
        RuleResult::fail(
            "ELIG-ONCE",
            format!("已享受过{occupation}{}培训补贴", level.name_zh()),
            format!("already subsidised for {occupation} {}", level.code()),
        )
    } else {
        RuleResult::pass(
            "ELIG-ONCE",
            "未重复享受同职业同等级补贴",
            "not subsidised before for this occupation and level",
        )
    }
}

/// ELIG-REALNAME: on the real-name roster, added no later than
/// `roster_change_days_after_start` days into the class (0: before the first day).
pub fn elig_realname(policy: &PolicySet, trainee: &TraineeFacts, class: &ClassFacts) -> RuleResult {
    let Some(added) = trainee.roster_added_on else {
        return RuleResult::fail(
            "ELIG-REALNAME",
            "未纳入实名制花名册(凡补必进、不进不补)",
            "not on the real-name roster",
        );
    };
    let deadline = class
        .first_day
        .checked_add_days(chrono::Days::new(u64::from(policy.roster_change_days_after_start)))
        .unwrap_or(NaiveDate::MAX);
    // With 0 days nobody may be added on or after the first day: the class has started.
    if added >= deadline {
        return RuleResult::fail(
            "ELIG-REALNAME",
            format!("{added}开班后才加入花名册"),
            format!("added to the roster on {added}, after the class started"),
        );
    }
    RuleResult::pass("ELIG-REALNAME", "在实名制花名册内", "on the real-name roster")
}

/// ELIG-PREHIRE: a pre-hire trainee (项目企业拟招聘对象) counts only once a labour contract is
/// signed, on or before `as_of`.
pub fn elig_prehire(trainee: &TraineeFacts, as_of: NaiveDate) -> RuleResult {
    if trainee.group != TargetGroup::ProjectEnterpriseRecruit {
        return RuleResult::pass("ELIG-PREHIRE", "非项目企业拟招聘对象", "not a pre-hire trainee");
    }
    match trainee.contract_signed_on {
        Some(signed) if signed <= as_of => RuleResult::pass(
            "ELIG-PREHIRE",
            format!("已于{signed}签订劳动合同"),
            format!("labour contract signed on {signed}"),
        ),
        _ => RuleResult::fail(
            "ELIG-PREHIRE",
            "项目企业拟招聘对象尚未签订劳动合同",
            "pre-hire trainee without a signed labour contract",
        ),
    }
}

/// Run every eligibility rule for one trainee of one class; the outcome is whether all passed.
/// `as_of` is the day of the decision (the claim's filing date).
pub fn evaluate_trainee_eligibility(
    policy: &PolicySet,
    class: &ClassFacts,
    occupation: &OccupationCode,
    level: SkillLevel,
    trainee: &TraineeFacts,
    as_of: NaiveDate,
) -> Decision<bool> {
    let (id_rule, id) = person_id(&trainee.id_number);
    let rules = vec![
        id_rule,
        elig_realname(policy, trainee, class),
        elig_age(policy, id.as_ref(), class.first_day),
        elig_fiscal(trainee),
        elig_group(trainee.group),
        elig_overlap(trainee, class),
        elig_once(policy, trainee, occupation, level),
        elig_prehire(trainee, as_of),
    ];
    Decision { outcome: rules.iter().all(|r| r.passed), policy_version: policy.version.clone(), rules }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegionCode;
    use crate::policy::facts::{DateRange, PriorSubsidy};

    pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn id_for(birth: &str, seq: &str) -> String {
        let first17 = format!("421202{birth}{seq}");
        let c = crate::id_number::check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    fn class() -> ClassFacts {
        ClassFacts {
            id: "C1".to_owned(),
            region: RegionCode::Xianan,
            first_day: d(2025, 9, 1),
            last_day: d(2025, 9, 30),
            hours: 100,
        }
    }

    fn trainee(id: String) -> TraineeFacts {
        TraineeFacts {
            name: "张三".to_owned(),
            id_number: id,
            group: TargetGroup::RuralMigrant,
            budget_paid: false,
            roster_added_on: Some(d(2025, 8, 30)),
            other_classes: vec![],
            prior_subsidies: vec![],
            contract_signed_on: None,
        }
    }

    fn occ() -> OccupationCode {
        OccupationCode::parse("4-10-01-05").expect("code")
    }

    fn eval(t: &TraineeFacts) -> Decision<bool> {
        let policy = PolicySet::xianning_2025_5_v1();
        evaluate_trainee_eligibility(&policy, &class(), &occ(), SkillLevel::Level4, t, d(2026, 3, 1))
    }

    #[test]
    fn elig_age_16th_birthday_on_first_day() {
        let t = trainee(id_for("20090901", "123"));
        let dec = eval(&t);
        assert!(dec.rule("ELIG-AGE").expect("evaluated").passed);
        assert!(dec.outcome);
    }

    #[test]
    fn elig_age_16th_birthday_day_after_first_day() {
        let t = trainee(id_for("20090902", "123"));
        let dec = eval(&t);
        assert!(!dec.rule("ELIG-AGE").expect("evaluated").passed);
        assert!(!dec.outcome);
    }

    #[test]
    fn elig_age_retirement_male_60_female_55() {
        let policy = PolicySet::xianning_2025_5_v1();
        let first = d(2025, 9, 1);
        // 17th digit odd = male; born 1965-09-01 turns 60 on the first day: too old.
        let male60 = IdNumber::parse(&id_for("19650901", "013")).expect("id");
        assert!(!elig_age(&policy, Some(&male60), first).passed);
        let male59 = IdNumber::parse(&id_for("19650902", "013")).expect("id");
        assert!(elig_age(&policy, Some(&male59), first).passed);
        let female55 = IdNumber::parse(&id_for("19700901", "024")).expect("id");
        assert!(!elig_age(&policy, Some(&female55), first).passed);
        let female54 = IdNumber::parse(&id_for("19700902", "024")).expect("id");
        assert!(elig_age(&policy, Some(&female54), first).passed);
    }

    #[test]
    fn elig_age_retirement_by_cohort_months() {
        let mut policy = PolicySet::xianning_2025_5_v1();
        policy.retirement_ages.insert(
            0,
            crate::policy::set::RetirementAge {
                sex: crate::Sex::Male,
                born_from: Some(d(1965, 1, 1)),
                born_to: Some(d(1965, 12, 31)),
                years: 60,
                months: 3,
            },
        );
        let male = IdNumber::parse(&id_for("19650901", "013")).expect("id");
        assert!(elig_age(&policy, Some(&male), d(2025, 9, 1)).passed);
        assert!(elig_age(&policy, Some(&male), d(2025, 11, 30)).passed);
        assert!(!elig_age(&policy, Some(&male), d(2025, 12, 1)).passed);
    }

    #[test]
    fn person_id_invalid_stops_age_too() {
        let t = trainee("421202200909011230".to_owned());
        let dec = eval(&t);
        assert!(!dec.rule("PERSON-ID").expect("evaluated").passed);
        assert!(!dec.rule("ELIG-AGE").expect("evaluated").passed);
    }

    #[test]
    fn elig_fiscal_budget_paid_refused() {
        let mut t = trainee(id_for("19900101", "123"));
        t.budget_paid = true;
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-FISCAL");
    }

    #[test]
    fn elig_group_is_recorded() {
        let t = trainee(id_for("19900101", "123"));
        assert!(eval(&t).rule("ELIG-GROUP").expect("evaluated").reason_zh.contains("农村转移就业劳动者"));
    }

    #[test]
    fn elig_overlap_touching_last_day_refused_day_after_allowed() {
        let mut t = trainee(id_for("19900101", "123"));
        t.other_classes = vec![DateRange { from: d(2025, 9, 30), to: d(2025, 10, 15) }];
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-OVERLAP");
        t.other_classes = vec![DateRange { from: d(2025, 10, 1), to: d(2025, 10, 15) }];
        assert!(eval(&t).outcome);
    }

    #[test]
    fn elig_once_same_occupation_and_level_refused() {
        let mut t = trainee(id_for("19900101", "123"));
        t.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level4 }];
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-ONCE");
        t.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level3 }];
        assert!(eval(&t).outcome);
    }

    #[test]
    fn elig_realname_added_on_first_day_refused_day_before_allowed() {
        let mut t = trainee(id_for("19900101", "123"));
        t.roster_added_on = Some(d(2025, 8, 31));
        assert!(eval(&t).outcome);
        t.roster_added_on = Some(d(2025, 9, 1));
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-REALNAME");
        t.roster_added_on = None;
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-REALNAME");
    }

    #[test]
    fn elig_realname_parameter_allows_days_after_start() {
        let mut policy = PolicySet::xianning_2025_5_v1();
        policy.roster_change_days_after_start = 2;
        let mut t = trainee(id_for("19900101", "123"));
        t.roster_added_on = Some(d(2025, 9, 2));
        assert!(elig_realname(&policy, &t, &class()).passed);
        t.roster_added_on = Some(d(2025, 9, 3));
        assert!(!elig_realname(&policy, &t, &class()).passed);
    }

    #[test]
    fn elig_prehire_needs_signed_contract() {
        let mut t = trainee(id_for("19900101", "123"));
        t.group = TargetGroup::ProjectEnterpriseRecruit;
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-PREHIRE");
        t.contract_signed_on = Some(d(2025, 10, 10));
        assert!(eval(&t).outcome);
        t.contract_signed_on = Some(d(2026, 3, 2));
        assert!(!eval(&t).outcome);
    }
}
