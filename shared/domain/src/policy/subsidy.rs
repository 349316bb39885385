//! The subsidy claim (补贴申请) and what follows it: OUT-RATE and PROJ-BASIS for the project,
//! SUBS-STANDARD, SUBS-TIER, SUBS-UPLIFT, SUBS-CAP, SUBS-ROUND, SUBS-ELIGIBLE, SUBS-FUND and
//! SUBS-DEADLINE per line, then SUBS-NOTICE, SUBS-SOD and SUBS-RECOVER. PROJ-BASIS is defined
//! with the project rules and re-exported here.
//!
//! A claim gives one line per trainee on the claim; a trainee who is not paid gets a line of
//! zero that names the rule that stopped them. The total is the sum of the lines.
//!
//! [`crate::policy::claim::evaluate_claim`] decides a claim under the set it is given: under `rules_edition` 1 as
//! policy set v1 did (one rate, the claim's trainees), under edition 2 as POLICY.md v2 describes
//! ([`crate::policy::claim`]: two rates by kind, counted from the roster without people who are
//! not 培训对象, one person one trainee, SUBS-MATERIALS, every line listing every rule it was
//! judged by). The parameters SUBS-UPLIFT (`uplift_tiers`) and SUBS-CAP (`cap_tiers`) apply
//! under either edition.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::policy::calendar::HolidayCalendar;
use crate::policy::class::evaluate_completion;
use crate::policy::decision::{Decision, RuleResult};
use crate::policy::eligibility::evaluate_trainee_eligibility;
use crate::policy::facts::{ClassFacts, KeyProject, OutcomeEvidence, TraineeFacts};
use crate::policy::fraction::Fraction;
use crate::policy::outcome::{Basis, Verdict, evaluate_outcome};
use crate::policy::set::{Fund, PolicySet, Tier};
use crate::policy::tables::{MinimumWageTable, StandardSource, SubsidyStandard, SubsidyStandardTable};
use crate::{Error, Money, OccupationCode, RegionCode, SkillLevel, TargetGroup, add_months};

pub use crate::policy::project::{ProjectBasis, proj_basis};

/// The project (项目) a claim is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFacts {
    /// The project's identifier.
    pub id: String,
    /// The project's name.
    pub name: String,
    /// The occupation trained.
    pub occupation: OccupationCode,
    /// The skill level trained.
    pub level: SkillLevel,
    /// The day the provider was disqualified, if it was (PROV-DISQUALIFIED).
    #[serde(default)]
    pub provider_disqualified_on: Option<NaiveDate>,
    /// The key project whose intended hires its pre-hire classes train (ELIG-PREHIRE, edition 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_project: Option<KeyProject>,
}

/// Another uplift policy (上浮政策) that applies to a trainee, SUBS-UPLIFT.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uplift {
    /// What the uplift is (its policy document).
    pub name: String,
    /// Percent of the standard it grants.
    pub percent: u32,
}

/// One trainee on a claim with what the claim needs to know.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimTrainee {
    /// The class the trainee is on.
    pub class_id: String,
    /// The person.
    pub person: TraineeFacts,
    /// Hours attended.
    pub attended_hours: u32,
    /// Passed the completion assessment.
    pub assessment_passed: bool,
    /// Passed a skill evaluation (技能评价): completes the class in place of the assessment under
    /// edition 2 (CLASS-COMPLETION).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skill_evaluation_passed: bool,
    /// Outcome evidence.
    #[serde(default)]
    pub evidence: OutcomeEvidence,
    /// Other uplift policies that apply.
    #[serde(default)]
    pub uplifts: Vec<Uplift>,
    /// The verdict the outcome service decided for the trainee (OUT-*), where it decided one:
    /// counted as it stands instead of judging `evidence` again, so that a claim's rate is the
    /// rate outcome publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Decision<Verdict>>,
}

/// A proof a claim carries (证明材料), SUBS-MATERIALS (七(五) "附件4等相关取证和就业佐证资料").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClaimMaterial {
    /// 附件4 补贴申请表, always required.
    #[serde(rename = "ANNEX_4")]
    Annex4,
    /// The classes' ledgers (培训台账), always required.
    Ledger,
    /// Certificate evidence (取证佐证资料), required with trainees judged by certificate.
    CertificateEvidence,
    /// Employment evidence (就业佐证资料), required with trainees judged by employment.
    EmploymentEvidence,
}

impl ClaimMaterial {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            ClaimMaterial::Annex4 => "附件4补贴申请表",
            ClaimMaterial::Ledger => "培训台账",
            ClaimMaterial::CertificateEvidence => "取证佐证资料",
            ClaimMaterial::EmploymentEvidence => "就业佐证资料",
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ClaimMaterial::Annex4 => "ANNEX_4",
            ClaimMaterial::Ledger => "LEDGER",
            ClaimMaterial::CertificateEvidence => "CERTIFICATE_EVIDENCE",
            ClaimMaterial::EmploymentEvidence => "EMPLOYMENT_EVIDENCE",
        }
    }
}

/// Everything a claim is judged on, apart from the policy set and the tables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimFacts {
    /// The project.
    pub project: ProjectFacts,
    /// Every class of the project (the rate is over all of them).
    pub classes: Vec<ClassFacts>,
    /// The trainees: under edition 1 those claimed for; under edition 2 the real-name roster of
    /// every class of the project as the supervision service holds it (OUT-RATE counts it, never
    /// a list the claimant supplies).
    pub trainees: Vec<ClaimTrainee>,
    /// The day the claim (附件4) was filed.
    pub filed_on: NaiveDate,
    /// The proofs the claim carries (SUBS-MATERIALS, edition 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<ClaimMaterial>,
}

/// One line of a claim: one trainee, their amount and the rules behind it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubsidyLine {
    /// The trainee's name.
    pub trainee_name: String,
    /// The ID number, masked.
    pub id_number_masked: String,
    /// The class.
    pub class_id: String,
    /// The target group.
    pub group: TargetGroup,
    /// The fund that pays the line (SUBS-FUND).
    pub fund: Fund,
    /// Completed the class (CLASS-COMPLETION).
    pub completed: bool,
    /// The outcome verdict, for trainees counted in the rate.
    pub verdict: Option<Verdict>,
    /// The standard in force (SUBS-STANDARD), if one was found.
    pub standard_fen: Option<Money>,
    /// The highest uplift of another policy, if any (SUBS-UPLIFT).
    pub uplift_percent: Option<u32>,
    /// The multiplier applied, percent of the standard (zero when stopped).
    pub multiplier_percent: u32,
    /// The amount, in fen.
    pub amount_fen: Money,
    /// The rule that stopped the line, when the amount is zero because of a rule.
    pub stopped_by: Option<String>,
    /// Every rule evaluated for the line.
    pub rules: Vec<RuleResult>,
    /// The rate the line is paid by (PROJ-BASIS, edition 2: each line by its own kind's rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
}

/// The rate of one kind of trainee (OUT-RATE, PROJ-BASIS, edition 2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindRate {
    /// Certificate or employment.
    pub basis: Basis,
    /// Trainees of the kind on the claim's roster.
    pub on_roster: u64,
    /// Of them, not 培训对象 (PERSON-ID, ELIG-AGE, ELIG-FISCAL or ELIG-LOCAL failed): in neither term.
    pub not_plan_trainees: u64,
    /// Of them, a second entry of one person, or a person whose overlapping class filed earlier
    /// keeps them (ELIG-OVERLAP): counted once, elsewhere.
    pub counted_elsewhere: u64,
    /// Completed trainees counted: the denominator.
    pub completed: u64,
    /// Of them, with a positive verdict: the numerator.
    pub positive: u64,
    /// The rate, absent when no trainee of the kind completed.
    pub rate: Option<Fraction>,
    /// The tier (SUBS-TIER, on `cert_tiers` for the certificate rate).
    pub tier: Option<Tier>,
    /// The tier's percentage of the standard.
    pub tier_percent: Option<u32>,
}

/// The outcome of a claim.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimOutcome {
    /// The project.
    pub project_id: String,
    /// How the project is judged.
    pub basis: ProjectBasis,
    /// The project rate (OUT-RATE), absent when no trainee completed.
    pub rate: Option<Fraction>,
    /// The tier percentage (SUBS-TIER), absent without a rate.
    pub tier_percent: Option<u32>,
    /// One line per trainee.
    pub lines: Vec<SubsidyLine>,
    /// The sum of the lines, in fen.
    pub total_fen: Money,
    /// Edition 2: the rate of each kind of trainee on the claim (employment, then certificate).
    /// `rate` and `tier_percent` above are then those of the one kind, or absent when mixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<KindRate>,
}

/// A claim decision.
pub type ClaimDecision = Decision<ClaimOutcome>;

/// OUT-RATE: positive verdicts over completed trainees, exactly; no completed trainee, no rate.
pub fn out_rate(positive: u64, completed: u64) -> Option<Fraction> {
    Fraction::new(positive.min(completed), completed)
}

/// SUBS-TIER: the tier's percentage for a rate, 70% and 30% belonging to the higher tier.
pub fn subs_tier(policy: &PolicySet, rate: Fraction) -> u32 {
    policy.tier_percent(rate)
}

/// SUBS-UPLIFT: the highest single multiplier wins, the tier's included; never the product.
pub fn subs_uplift(tier_percent: u32, uplifts: &[Uplift]) -> u32 {
    uplifts.iter().map(|u| u.percent).fold(tier_percent, u32::max)
}

/// SUBS-UPLIFT under `policy`: the multiplier of a line in `tier` paying `tier_percent`, and the
/// rule explaining it. Other uplifts compete with the tier (the highest single one wins, never the
/// product) only in the tiers of `uplift_tiers` (v2: the 200% tier, whose clause "就高不就低,不
/// 叠加" belongs to); elsewhere the tier alone applies.
pub fn subs_uplift_in(policy: &PolicySet, tier: Tier, tier_percent: u32, uplifts: &[Uplift]) -> (u32, RuleResult) {
    let highest = uplifts.iter().map(|u| u.percent).max();
    if let Some(u) = highest.filter(|_| !policy.uplift_applies_in(tier)) {
        let tiers: Vec<String> =
            policy.uplift_tiers.iter().flatten().map(|t| format!("{}%", policy.tiers.percent_of(*t))).collect();
        let (tiers_zh, tiers_en) = (tiers.join("、"), tiers.join(", "));
        return (
            tier_percent,
            RuleResult::pass(
                "SUBS-UPLIFT",
                format!(
                    "档次{tier_percent}%不适用其他上浮{u}%(就高不就低、不叠加仅适用于{tiers_zh}档),按{tier_percent}%"
                ),
                format!(
                    "tier {tier_percent}%: other uplifts ({u}%) apply only in the {tiers_en} tier(s) (uplift_tiers), so \
                     {tier_percent}%"
                ),
            ),
        );
    }
    let multiplier = subs_uplift(tier_percent, uplifts);
    let rule = RuleResult::pass(
        "SUBS-UPLIFT",
        match highest {
            Some(u) => format!("档次{tier_percent}%与其他上浮{u}%就高不就低、不叠加,取{multiplier}%"),
            None => format!("无其他上浮政策,按档次{tier_percent}%"),
        },
        match highest {
            Some(u) => format!("tier {tier_percent}% and uplift {u}%: the highest wins, not stacked: {multiplier}%"),
            None => format!("no other uplift: tier {tier_percent}%"),
        },
    );
    (multiplier, rule)
}

/// SUBS-CAP, SUBS-ROUND under `policy`: [`subs_line_amount`] for a line in `tier`, capped only
/// when the cap applies in it (`cap_tiers`), with the SUBS-CAP rule; the rule names `cap_tiers`
/// when the set states them.
pub fn subs_line_amount_in(policy: &PolicySet, standard: Money, percent: u32, tier: Tier) -> (Money, RuleResult) {
    let cap = policy.cap_fen;
    let (label_zh, label_en) = match &policy.cap_tiers {
        None => (String::new(), String::new()),
        Some(tiers) => {
            let names: Vec<String> = tiers.iter().map(|t| format!("{}%", policy.tiers.percent_of(*t))).collect();
            (format!("(cap_tiers:{}档)", names.join("、")), format!(" (cap_tiers: the {} tiers)", names.join(", ")))
        }
    };
    if !policy.cap_applies_in(tier) {
        let raw = standard.to_decimal_yuan() * Decimal::from(percent) / Decimal::ONE_HUNDRED;
        let amount = Money::from_decimal_yuan_half_up(raw).unwrap_or(Money::ZERO);
        return (
            amount,
            RuleResult::pass(
                "SUBS-CAP",
                format!("本档不适用{cap}元上限{label_zh}"),
                format!("the {cap} yuan cap does not apply in this tier{label_en}"),
            ),
        );
    }
    let (amount, capped) = subs_line_amount(policy, standard, percent);
    let rule = if capped {
        RuleResult::pass(
            "SUBS-CAP",
            format!("超过上限,按{cap}元封顶{label_zh}"),
            format!("capped at {cap} yuan{label_en}"),
        )
    } else {
        RuleResult::pass(
            "SUBS-CAP",
            format!("未超过{cap}元上限{label_zh}"),
            format!("within the {cap} yuan cap{label_en}"),
        )
    };
    (amount, rule)
}

/// SUBS-CAP and SUBS-ROUND: standard × percent, capped at the policy's cap, rounded half up to
/// the fen once. Returns the amount and whether the cap applied.
pub fn subs_line_amount(policy: &PolicySet, standard: Money, percent: u32) -> (Money, bool) {
    let raw = standard.to_decimal_yuan() * Decimal::from(percent) / Decimal::ONE_HUNDRED;
    let cap = policy.cap_fen.to_decimal_yuan();
    let capped = raw > cap;
    let yuan = if capped { cap } else { raw };
    // SUBS-ROUND: once, per line, half up.
    let amount = Money::from_decimal_yuan_half_up(yuan).unwrap_or(policy.cap_fen);
    (amount, capped)
}

/// SUBS-DEADLINE: filed within `claim_months` months after the project's last class ended.
pub fn subs_deadline(policy: &PolicySet, last_class_end: NaiveDate, filed_on: NaiveDate) -> RuleResult {
    let deadline = add_months(last_class_end, policy.claim_months);
    if filed_on <= deadline {
        RuleResult::pass(
            "SUBS-DEADLINE",
            format!("{filed_on}申请,不晚于截止日{deadline}"),
            format!("filed {filed_on}, on or before the deadline {deadline}"),
        )
    } else {
        RuleResult::fail(
            "SUBS-DEADLINE",
            format!("{filed_on}申请,超过截止日{deadline}(最后一班结束后{}个月)", policy.claim_months),
            format!(
                "filed {filed_on}, after the deadline {deadline} ({} months after the last class)",
                policy.claim_months
            ),
        )
    }
}

/// SUBS-NOTICE: the last day of public notice published on `published_on`, `notice_working_days`
/// working days (DATE-WORKDAYS). Edition 1 counted `published_on` as the first if it is a working
/// day; edition 2 counts from the working day after it (民法典 art. 201: "开始的当日不计入").
pub fn subs_notice_end(
    policy: &PolicySet,
    calendar: &HolidayCalendar,
    published_on: NaiveDate,
) -> Result<NaiveDate, Error> {
    if policy.v2_rules() {
        calendar.add_working_days(published_on, policy.notice_working_days)
    } else {
        calendar.nth_working_day_from(published_on, policy.notice_working_days)
    }
}

/// SUBS-NOTICE: payment may proceed on `date` only after the notice has ended and every
/// objection is resolved.
pub fn subs_notice_allows_payment(notice_end: NaiveDate, date: NaiveDate, open_objections: usize) -> bool {
    date > notice_end && open_objections == 0
}

/// SUBS-FUND: the fund that pays a trainee's line.
pub fn subs_fund(policy: &PolicySet, group: TargetGroup) -> Fund {
    policy.fund_for(group)
}

/// SUBS-SOD: the officer who reviewed a claim cannot approve it.
pub fn subs_sod(reviewer: &str, approver: &str) -> RuleResult {
    if reviewer == approver {
        RuleResult::fail("SUBS-SOD", "审核人与审批人不得为同一人", "the reviewer cannot approve the same claim")
    } else {
        RuleResult::pass("SUBS-SOD", "审核与审批由不同人员完成", "reviewed and approved by different officers")
    }
}

/// SUBS-SOD, the bureau (v2): a claim is reviewed, put on notice and approved by the bureau
/// where its classes were filed (七(五) "向备案开班人社部门申请"; the city bureau for city-level
/// projects). `acting` is the bureau of the officer who acts; another bureau, the city's
/// included, may read the claim but not decide it.
pub fn subs_sod_bureau(filing: RegionCode, acting: RegionCode) -> RuleResult {
    if filing == acting {
        RuleResult::pass(
            "SUBS-SOD",
            format!("由备案开班的人社部门({})办理", filing.code()),
            format!("handled by the filing bureau ({})", filing.code()),
        )
    } else {
        RuleResult::fail(
            "SUBS-SOD",
            format!("补贴申请由备案开班的人社部门({})审核审批,本部门({})不得办理", filing.code(), acting.code()),
            format!(
                "the claim is decided by the bureau where its classes were filed ({}), not by {}",
                filing.code(),
                acting.code()
            ),
        )
    }
}

/// SUBS-SOD for an approval (v2): by an officer of the filing bureau who did not review the
/// claim. The first rule that fails, or the bureau's rule passed.
pub fn subs_sod_approval(
    filing: RegionCode,
    reviewer: &str,
    approver: &str,
    approver_bureau: RegionCode,
) -> RuleResult {
    let bureau = subs_sod_bureau(filing, approver_bureau);
    if !bureau.passed {
        return bureau;
    }
    subs_sod(reviewer, approver)
}

/// SUBS-MATERIALS (edition 2): the claim carries the proofs review needs: 附件4 and the ledgers
/// always, certificate evidence when it has trainees judged by certificate, employment evidence
/// when it has trainees judged by employment (`kinds`). Not a rule of edition 1: it passes
/// saying so.
pub fn subs_materials(policy: &PolicySet, listed: &[ClaimMaterial], kinds: &[Basis]) -> RuleResult {
    if let Some(passed) = policy.not_enforced("SUBS-MATERIALS") {
        return passed;
    }
    let mut required = vec![ClaimMaterial::Annex4, ClaimMaterial::Ledger];
    if kinds.contains(&Basis::Certificate) {
        required.push(ClaimMaterial::CertificateEvidence);
    }
    if kinds.contains(&Basis::Employment) {
        required.push(ClaimMaterial::EmploymentEvidence);
    }
    let missing: Vec<ClaimMaterial> = required.iter().copied().filter(|m| !listed.contains(m)).collect();
    if missing.is_empty() {
        RuleResult::pass(
            "SUBS-MATERIALS",
            format!("证明材料齐全:{}", required.iter().map(|m| m.name_zh()).collect::<Vec<_>>().join("、")),
            format!("the claim carries {}", required.iter().map(|m| m.code()).collect::<Vec<_>>().join(", ")),
        )
    } else {
        RuleResult::fail(
            "SUBS-MATERIALS",
            format!("缺少证明材料:{},审核不能通过", missing.iter().map(|m| m.name_zh()).collect::<Vec<_>>().join("、")),
            format!(
                "the claim lacks {}: review cannot pass it",
                missing.iter().map(|m| m.code()).collect::<Vec<_>>().join(", ")
            ),
        )
    }
}

/// An officer's exclusion of one line at review (七(五) 审核, CLAIM_LINE_EXCLUDED): the line is named by
/// its class and the trainee's ID number as the facts hold them, with the officer's reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineExclusion {
    /// The class of the line.
    pub class_id: String,
    /// The trainee's ID number as the facts hold it.
    pub id_number: String,
    /// Why the officer excluded it.
    pub reason: String,
    /// Who excluded it.
    #[serde(default)]
    pub excluded_by: String,
}

/// The lines an officer excluded at review go to zero, each naming CLAIM_LINE_EXCLUDED and
/// the officer's reason; the total is the sum of the lines again (SUBS-ROUND). The rates are
/// those of the calculation: an exclusion refuses a line's payment, it does not change what the
/// project's trainees achieved. `trainees` are the facts' trainees, in line order. An exclusion
/// that names no line of the claim is an error of the facts.
pub fn subs_review_exclusions(
    mut outcome: ClaimOutcome,
    trainees: &[ClaimTrainee],
    exclusions: &[LineExclusion],
) -> Result<ClaimOutcome, Error> {
    for exclusion in exclusions {
        let index = trainees
            .iter()
            .position(|t| t.class_id == exclusion.class_id && t.person.id_number == exclusion.id_number)
            .filter(|i| *i < outcome.lines.len())
            .ok_or_else(|| {
                Error::Facts(format!("an exclusion names no line of the claim (class {})", exclusion.class_id))
            })?;
        let line = &mut outcome.lines[index];
        line.amount_fen = Money::ZERO;
        line.multiplier_percent = 0;
        line.stopped_by = Some("CLAIM_LINE_EXCLUDED".to_owned());
        line.rules.push(RuleResult::fail(
            "CLAIM_LINE_EXCLUDED",
            format!("审核核减:{}", exclusion.reason),
            format!("excluded at review: {}", exclusion.reason),
        ));
    }
    outcome.total_fen = Money::checked_sum(outcome.lines.iter().map(|l| l.amount_fen))
        .ok_or_else(|| Error::Facts("the claim's total overflows".to_owned()))?;
    Ok(outcome)
}

/// Why money is recovered (SUBS-RECOVER, 八(四)).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecoveryCause {
    /// Fraud (弄虚作假) found after payment: everything paid is recovered.
    Fraud,
    /// Re-verification lowered the project rate: every paid line is re-tiered at it.
    RateFell {
        /// The re-verified rate.
        new_rate: Fraction,
    },
    /// Subcontracting (转包、分包) found after payment (edition 2): everything paid is recovered.
    Subcontracting,
    /// Re-verification lowered the rate of one kind (edition 2): its paid lines are re-tiered.
    KindRateFell {
        /// The kind whose rate fell.
        basis: Basis,
        /// The re-verified rate.
        new_rate: Fraction,
    },
}

/// SUBS-RECOVER: the amount to recover from a paid claim, with its cause. Fraud, and under
/// edition 2 subcontracting, recover the whole amount paid on the project; a fallen rate
/// recovers, line by line, the difference between the paid amount and the amount at the new
/// tier (uplifts and the cap as the set applies them). Edition 1 names no recovery for
/// subcontracting: the rule then fails and nothing is recovered under it.
pub fn subs_recover(policy: &PolicySet, paid: &ClaimOutcome, cause: &RecoveryCause) -> Decision<Money> {
    let (amount, rule) = match cause {
        RecoveryCause::Fraud => (
            paid.total_fen,
            RuleResult::pass(
                "SUBS-RECOVER",
                format!("查实骗取补贴,追回已拨付的{}元", paid.total_fen),
                format!("fraud found: recover the {} yuan paid", paid.total_fen),
            ),
        ),
        RecoveryCause::Subcontracting if policy.v2_rules() => (
            paid.total_fen,
            RuleResult::pass(
                "SUBS-RECOVER",
                format!("查实转包、分包,追回已拨付的{}元", paid.total_fen),
                format!("subcontracting found: recover the {} yuan paid", paid.total_fen),
            ),
        ),
        RecoveryCause::Subcontracting => (
            Money::ZERO,
            RuleResult::fail(
                "SUBS-RECOVER",
                format!("政策版本{}未规定因转包、分包追回", policy.version),
                format!("policy set {} names no recovery for subcontracting", policy.version),
            ),
        ),
        RecoveryCause::RateFell { new_rate } if !policy.v2_rules() => {
            let tier = subs_tier(policy, *new_rate);
            let total = recover_lines(policy, paid, None, *new_rate);
            (
                total,
                RuleResult::pass(
                    "SUBS-RECOVER",
                    format!("复核就业率降为{new_rate},按{tier}%档追回差额{total}元"),
                    format!("re-verified rate {new_rate}: recover the difference to the {tier}% tier, {total} yuan"),
                ),
            )
        }
        RecoveryCause::RateFell { new_rate } => {
            let total = recover_lines(policy, paid, None, *new_rate);
            (
                total,
                RuleResult::pass(
                    "SUBS-RECOVER",
                    format!("复核比率降为{new_rate},各行按新档次追回差额{total}元"),
                    format!("re-verified rate {new_rate}: recover the difference to the new tier, {total} yuan"),
                ),
            )
        }
        RecoveryCause::KindRateFell { basis, new_rate } => {
            let tiers = policy.tiers_for(*basis);
            let percent = tiers.percent_of(tiers.tier_of(*new_rate));
            let total = recover_lines(policy, paid, Some(*basis), *new_rate);
            (
                total,
                RuleResult::pass(
                    "SUBS-RECOVER",
                    format!("复核{}降为{new_rate},按{percent}%档追回差额{total}元", basis.rate_name_zh()),
                    format!(
                        "re-verified {} {new_rate}: recover the difference to the {percent}% tier, {total} yuan",
                        basis.rate_name_en()
                    ),
                ),
            )
        }
    };
    Decision { outcome: amount, policy_version: policy.version.clone(), rules: vec![rule] }
}

/// The difference to recover when the lines (of `only`, or all) are re-tiered at `new_rate`.
fn recover_lines(policy: &PolicySet, paid: &ClaimOutcome, only: Option<Basis>, new_rate: Fraction) -> Money {
    let mut total = Money::ZERO;
    for line in paid.lines.iter().filter(|l| l.amount_fen > Money::ZERO) {
        if only.is_some_and(|b| line.basis.is_some_and(|lb| lb != b)) {
            continue;
        }
        let Some(standard) = line.standard_fen else {
            continue;
        };
        let tiers = policy.tiers_for(line.basis.unwrap_or(Basis::Employment));
        let tier = tiers.tier_of(new_rate);
        let percent = tiers.percent_of(tier);
        let uplifts: Vec<Uplift> =
            line.uplift_percent.map(|p| Uplift { name: String::new(), percent: p }).into_iter().collect();
        let (multiplier, _) = subs_uplift_in(policy, tier, percent, &uplifts);
        let (new_amount, _) = subs_line_amount_in(policy, standard, multiplier, tier);
        let diff = line.amount_fen.checked_sub(new_amount).unwrap_or(Money::ZERO);
        if diff > Money::ZERO {
            total = total.checked_add(diff).unwrap_or(total);
        }
    }
    total
}

pub(crate) fn mask(raw: &str) -> String {
    match crate::IdNumber::parse(raw) {
        Ok(id) => id.masked(),
        Err(_) => {
            let keep: String = raw.chars().take(6).collect();
            format!("{keep}******(invalid)")
        }
    }
}

/// The last day of a claim's classes, once each class is known to end on or after its start.
pub(crate) fn last_class_end(classes: &[ClassFacts]) -> Result<NaiveDate, Error> {
    for c in classes {
        if c.last_day < c.first_day {
            return Err(Error::Facts(format!("class {} ends before it starts", c.id)));
        }
    }
    classes.iter().map(|c| c.last_day).max().ok_or_else(|| Error::Facts("a claim needs at least one class".to_owned()))
}

/// The class of a claim that a trainee's roster entry names.
pub(crate) fn class_of<'a>(classes: &'a [ClassFacts], trainee: &ClaimTrainee) -> Result<&'a ClassFacts, Error> {
    classes.iter().find(|c| c.id == trainee.class_id).ok_or_else(|| {
        Error::Facts(format!("trainee {} is on unknown class {}", trainee.person.name, trainee.class_id))
    })
}

/// PROV-DISQUALIFIED at claim time: a provider disqualified on `on` is paid nothing more.
pub(crate) fn prov_disqualified_claim_rule(on: Option<NaiveDate>) -> RuleResult {
    match on {
        Some(on) => RuleResult::fail(
            "PROV-DISQUALIFIED",
            format!("承训机构{on}被取消资格,未拨付补贴不予拨付"),
            format!("the provider was disqualified on {on}: unpaid subsidies are refused"),
        ),
        None => RuleResult::pass("PROV-DISQUALIFIED", "承训机构未被取消资格", "the provider is not disqualified"),
    }
}

/// SUBS-ELIGIBLE: a line is paid unless a rule of the trainee (`stop`) failed.
pub(crate) fn subs_eligible_rule(stop: Option<&str>) -> RuleResult {
    match stop {
        None => RuleResult::pass("SUBS-ELIGIBLE", "学员符合补贴条件", "the trainee qualifies for a line"),
        Some(code) => {
            RuleResult::fail("SUBS-ELIGIBLE", format!("因{code}不予补贴"), format!("not paid because of {code}"))
        }
    }
}

/// A paid line's amount: the standard × the tier's percent raised by the trainee's uplifts
/// (SUBS-UPLIFT), capped (SUBS-CAP), rounded half up once (SUBS-ROUND); each rule is added to
/// `rules`. Returns the amount and the multiplier.
pub(crate) fn line_amount(
    policy: &PolicySet,
    standard_fen: Money,
    (tier, tier_percent): (Tier, u32),
    uplifts: &[Uplift],
    rules: &mut Vec<RuleResult>,
) -> (Money, u32) {
    let (multiplier, uplift_rule) = subs_uplift_in(policy, tier, tier_percent, uplifts);
    rules.push(uplift_rule);
    let (amount, cap_rule) = subs_line_amount_in(policy, standard_fen, multiplier, tier);
    rules.push(cap_rule);
    rules.push(RuleResult::pass(
        "SUBS-ROUND",
        format!("{standard_fen}元×{multiplier}%,四舍五入到分:{amount}元"),
        format!("{standard_fen} yuan × {multiplier}%, rounded half up to the fen: {amount} yuan"),
    ));
    (amount, multiplier)
}

/// SUBS-STANDARD: the standard in force on the class's first day for the project's occupation
/// and level, or a refusal naming what has none.
pub(crate) fn standard_rule(
    occupation: &OccupationCode,
    level: SkillLevel,
    first_day: NaiveDate,
    standard: Option<&SubsidyStandard>,
) -> RuleResult {
    let Some(s) = standard else {
        return RuleResult::fail(
            "SUBS-STANDARD",
            format!("{occupation}{}在开班首日{first_day}无补贴标准", level.name_zh()),
            format!("no standard for {occupation} {} on {first_day}", level.code()),
        );
    };
    let (src_zh, src_en) = match &s.source {
        StandardSource::Provincial => ("省参照表".to_owned(), "provincial table".to_owned()),
        StandardSource::Local { document_number } => {
            (format!("本地标准{document_number}"), format!("local standard {document_number}"))
        }
    };
    RuleResult::pass(
        "SUBS-STANDARD",
        format!("{occupation}{}标准{}元({src_zh},开班首日{first_day}有效)", level.name_zh(), s.standard_fen),
        format!(
            "standard {} yuan for {occupation} {} ({src_en}, in force on {first_day})",
            s.standard_fen,
            level.code()
        ),
    )
}

/// The claim as policy set v1 decides it: one rate over the claim's completed trainees
/// ([`crate::policy::claim::evaluate_claim`] chooses by the set's rules edition).
pub(crate) fn evaluate_claim_v1(
    policy: &PolicySet,
    facts: &ClaimFacts,
    standards: &SubsidyStandardTable,
    wages: &MinimumWageTable,
) -> Result<ClaimDecision, Error> {
    let project = &facts.project;
    let last_end = last_class_end(&facts.classes)?;

    // Claim-level rules.
    let mut claim_rules = vec![
        subs_deadline(policy, last_end, facts.filed_on),
        prov_disqualified_claim_rule(project.provider_disqualified_on),
    ];

    // Per-trainee evaluations.
    struct Judged<'a> {
        trainee: &'a ClaimTrainee,
        class: &'a ClassFacts,
        eligibility: Decision<bool>,
        completion: Decision<bool>,
        verdict: Option<Decision<Verdict>>,
    }
    let mut judged = Vec::with_capacity(facts.trainees.len());
    for t in &facts.trainees {
        let class = class_of(&facts.classes, t)?;
        let eligibility =
            evaluate_trainee_eligibility(policy, class, &project.occupation, project.level, &t.person, facts.filed_on);
        let completion = evaluate_completion(policy, class.hours, t.attended_hours, t.assessment_passed);
        let on_roster = eligibility.rule("ELIG-REALNAME").is_some_and(|r| r.passed);
        // OUT-RATE counts the roster's completed trainees.
        let verdict = (on_roster && completion.outcome).then(|| {
            t.verdict.clone().unwrap_or_else(|| {
                evaluate_outcome(policy, class, &project.occupation, t.person.group, &t.evidence, wages)
            })
        });
        judged.push(Judged { trainee: t, class, eligibility, completion, verdict });
    }

    // OUT-RATE and PROJ-BASIS over all classes.
    let counted: Vec<&Judged> = judged.iter().filter(|j| j.verdict.is_some()).collect();
    let completed = counted.len() as u64;
    let positive = counted.iter().filter(|j| j.verdict.as_ref().is_some_and(|v| v.outcome.positive)).count() as u64;
    let groups: Vec<TargetGroup> = counted.iter().map(|j| j.trainee.person.group).collect();
    let basis = proj_basis(&groups);
    let rate = out_rate(positive, completed);
    let basis_rule = match basis {
        ProjectBasis::CertificateRate => RuleResult::pass(
            "PROJ-BASIS",
            "培训对象为在岗职工,按取证率评估",
            "in-service workers: judged by the certificate rate",
        ),
        ProjectBasis::EmploymentRate => RuleResult::pass("PROJ-BASIS", "按就业率评估", "judged by the employment rate"),
        ProjectBasis::Mixed => RuleResult::pass(
            "PROJ-BASIS",
            "在岗职工按取证、其他学员按就业分别认定",
            "in-service workers by certificate, others by employment",
        ),
    };
    claim_rules.push(basis_rule);
    let tier_percent = rate.map(|r| subs_tier(policy, r));
    claim_rules.push(match rate {
        Some(r) => RuleResult::pass(
            "OUT-RATE",
            format!(
                "项目整体{}:{positive}/{completed}={}",
                if basis == ProjectBasis::CertificateRate { "取证率" } else { "就业率" },
                r.percent_display()
            ),
            format!("project rate {positive}/{completed} = {}", r.percent_display()),
        ),
        None => RuleResult::fail(
            "OUT-RATE",
            "无结业学员,无法计算就业率,不予补贴",
            "no trainee completed: no rate and no subsidy",
        ),
    });
    if let (Some(r), Some(tier)) = (rate, tier_percent) {
        claim_rules.push(RuleResult::pass(
            "SUBS-TIER",
            format!("就业率{}对应省级标准的{tier}%(70%、30%归入较高档)", r.percent_display()),
            format!(
                "rate {} gives {tier}% of the standard (70% and 30% belong to the higher tier)",
                r.percent_display()
            ),
        ));
    }
    let claim_stop = claim_rules.iter().find(|r| !r.passed).cloned();

    // Lines.
    let mut lines = Vec::with_capacity(judged.len());
    for j in &judged {
        let person = &j.trainee.person;
        let mut rules: Vec<RuleResult> = Vec::new();
        rules.extend(j.eligibility.rules.iter().cloned());
        rules.extend(j.completion.rules.iter().cloned());
        let person_stop = rules.iter().find(|r| !r.passed).map(|r| r.code.clone());
        rules.push(subs_eligible_rule(person_stop.as_deref()));
        let standard = standards.lookup(&project.occupation, project.level, j.class.first_day);
        rules.push(standard_rule(&project.occupation, project.level, j.class.first_day, standard));
        let fund = subs_fund(policy, person.group);
        let uplift_percent = j.trainee.uplifts.iter().map(|u| u.percent).max();
        let stopped_by = claim_stop
            .as_ref()
            .map(|r| r.code.clone())
            .or(person_stop)
            .or_else(|| standard.is_none().then(|| "SUBS-STANDARD".to_owned()));
        let (amount, multiplier) = match (&stopped_by, standard, tier_percent, rate) {
            (None, Some(s), Some(tier), Some(r)) => {
                line_amount(policy, s.standard_fen, (policy.tiers.tier_of(r), tier), &j.trainee.uplifts, &mut rules)
            }
            _ => (Money::ZERO, 0),
        };
        rules.push(RuleResult::pass(
            "SUBS-FUND",
            format!("从{}列支", fund.name_zh()),
            format!("paid from {}", fund.code()),
        ));
        if let Some(stop) = &claim_stop {
            rules.insert(0, stop.clone());
        }
        lines.push(SubsidyLine {
            trainee_name: person.name.clone(),
            id_number_masked: mask(&person.id_number),
            class_id: j.class.id.clone(),
            group: person.group,
            fund,
            completed: j.completion.outcome,
            verdict: j.verdict.as_ref().map(|v| v.outcome.clone()),
            standard_fen: standard.map(|s| s.standard_fen),
            uplift_percent,
            multiplier_percent: multiplier,
            amount_fen: amount,
            stopped_by,
            rules,
            basis: None,
        });
    }
    let total = Money::checked_sum(lines.iter().map(|l| l.amount_fen))
        .ok_or_else(|| Error::Facts("the claim total overflows".to_owned()))?;
    Ok(Decision {
        outcome: ClaimOutcome {
            project_id: project.id.clone(),
            basis,
            rate,
            tier_percent,
            lines,
            total_fen: total,
            rates: Vec::new(),
        },
        policy_version: policy.version.clone(),
        rules: claim_rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excluded_line_goes_to_zero_naming_its_exclusion_and_the_total_is_summed_again() {
        let facts: ClaimTrainee = serde_json::from_value(serde_json::json!({
            "class_id": "C1",
            "person": { "name": "张三", "id_number": "X1", "group": "RURAL_MIGRANT", "budget_paid": false,
                "employed_on_first_day": false },
            "attended_hours": 100, "assessment_passed": true
        }))
        .expect("a trainee");
        let mut other = facts.clone();
        other.person.id_number = "X2".into();
        let line = |amount: i64| SubsidyLine {
            trainee_name: "张*".into(),
            id_number_masked: "X".into(),
            class_id: "C1".into(),
            group: TargetGroup::RuralMigrant,
            fund: Fund::EmploymentSubsidyFund,
            completed: true,
            verdict: None,
            standard_fen: Some(Money::from_fen(300_000)),
            uplift_percent: None,
            multiplier_percent: 200,
            amount_fen: Money::from_fen(amount),
            stopped_by: None,
            rules: Vec::new(),
            basis: None,
        };
        let outcome = ClaimOutcome {
            project_id: "P".into(),
            basis: ProjectBasis::EmploymentRate,
            rate: None,
            tier_percent: None,
            lines: vec![line(500_000), line(500_000)],
            total_fen: Money::from_fen(1_000_000),
            rates: Vec::new(),
        };
        let exclusion = LineExclusion {
            class_id: "C1".into(),
            id_number: "X2".into(),
            reason: "重复".into(),
            excluded_by: "o".into(),
        };
        let trainees = [facts, other];
        let excluded =
            subs_review_exclusions(outcome.clone(), &trainees, std::slice::from_ref(&exclusion)).expect("ok");
        assert_eq!(excluded.total_fen, Money::from_fen(500_000));
        assert_eq!(excluded.lines[1].amount_fen, Money::ZERO);
        assert_eq!(excluded.lines[1].stopped_by.as_deref(), Some("CLAIM_LINE_EXCLUDED"));
        assert!(
            excluded.lines[1].rules.iter().any(|r| r.code == "CLAIM_LINE_EXCLUDED" && r.reason_zh.contains("重复"))
        );
        let unknown = LineExclusion { id_number: "X9".into(), ..exclusion };
        assert!(subs_review_exclusions(outcome, &trainees, &[unknown]).is_err(), "names no line");
    }

    #[test]
    fn subs_sod_reviewer_cannot_approve() {
        assert!(!subs_sod("officer-1", "officer-1").passed);
        assert!(subs_sod("officer-1", "officer-2").passed);
    }

    #[test]
    fn subs_sod_the_filing_bureau_decides_and_the_reviewer_never_approves() {
        let county = RegionCode::parse("421221").expect("county");
        let other = RegionCode::parse("421222").expect("county");
        assert!(subs_sod_bureau(county, county).passed);
        assert!(!subs_sod_bureau(county, other).passed);
        // The city reads a county's claims but does not decide them; it decides its own.
        assert!(!subs_sod_bureau(county, RegionCode::CITY).passed);
        assert!(subs_sod_bureau(RegionCode::CITY, RegionCode::CITY).passed);
        assert!(!subs_sod_bureau(RegionCode::CITY, county).passed);
        assert!(subs_sod_approval(county, "officer-1", "officer-2", county).passed);
        assert!(!subs_sod_approval(county, "officer-1", "officer-1", county).passed);
        assert!(!subs_sod_approval(county, "officer-1", "officer-2", other).passed);
    }
}
