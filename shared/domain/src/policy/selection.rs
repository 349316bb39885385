//! Project selection (项目遴选, 七(二)) and quotas (七(一)): PROJ-SELECTION and PROJ-QUOTA.
//!
//! [`proj_selection_score`] scores one application under expert review; [`decide_round`] decides
//! a whole round as one pure function: it ranks the applications (score descending, unscored
//! last, then earlier submission, then id), applies the approval condition (scored, every rule
//! the service gathered passed, fits the quota under the set's `quota_mode`, after any 核减) and
//! returns each application's rank, approval, approved headcount and rules. [`proj_quota_year`]
//! checks that approved headcount never exceeds a yearly quota. [`proj_selection_recusal`] recuses
//! an expert of the applicant's own organisation, and [`proj_selection_owner`] keeps an approved
//! project to its provider; [`RUBRIC`] and [`proj_selection_points`] say what a score may be.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::NaiveDate;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::policy::decision::{Decision, RuleResult};
use crate::policy::project::{InServiceBasis, proj_cross_region, proj_inservice};
use crate::policy::provider::{ProviderFacts, prov_disqualified};
use crate::policy::set::{PolicySet, QuotaMode};
use crate::{Error, RegionCode};

/// How a round selects (七(二) "采取遴选、揭榜领题、专家评审、综合评议等方式"): the one method a round
/// is scored by (PROJ-SELECTION).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionMethod {
    /// 遴选.
    Selection,
    /// 揭榜领题.
    OpenChallenge,
    /// 专家评审: the one method scored by experts.
    ExpertReview,
    /// 综合评议.
    ComprehensiveEvaluation,
}

/// One expert's score of an application.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExpertScore {
    /// The expert.
    pub expert: String,
    /// The expert's organisation.
    pub organisation: String,
    /// The expert declared a conflict of interest.
    #[serde(default)]
    pub conflict_declared: bool,
    /// The score given.
    pub score: Decimal,
}

/// PROJ-SELECTION: the score of an application under expert review. Experts from the
/// applicant's own organisation or with a declared conflict are recused; at least
/// `min_experts` must remain; the score is their mean, dropping the highest and the lowest when
/// at least `trim_scores_from` scores remain. The mean is rounded half up to 4 decimals.
pub fn proj_selection_score(
    policy: &PolicySet,
    applicant_organisation: &str,
    scores: &[ExpertScore],
) -> Decision<Option<Decimal>> {
    let kept: Vec<&ExpertScore> =
        scores.iter().filter(|s| !s.conflict_declared && s.organisation != applicant_organisation).collect();
    let recused = scores.len() - kept.len();
    let mut rules = vec![RuleResult::pass(
        "PROJ-SELECTION",
        format!("回避{recused}名专家,有效评分{}个", kept.len()),
        format!("{recused} experts recused, {} scores kept", kept.len()),
    )];
    let enough = u32::try_from(kept.len()).unwrap_or(u32::MAX) >= policy.min_experts;
    if !enough {
        rules.push(RuleResult::fail(
            "PROJ-SELECTION",
            format!("有效评审专家不足{}名", policy.min_experts),
            format!("fewer than {} experts after recusal", policy.min_experts),
        ));
        return Decision { outcome: None, policy_version: policy.version.clone(), rules };
    }
    let mut values: Vec<Decimal> = kept.iter().map(|s| s.score).collect();
    values.sort();
    let trimmed = u32::try_from(values.len()).unwrap_or(u32::MAX) >= policy.trim_scores_from;
    let used: &[Decimal] = if trimmed { &values[1..values.len() - 1] } else { &values };
    let sum: Decimal = used.iter().copied().sum();
    let mean = (sum / Decimal::from(used.len())).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    rules.push(RuleResult::pass(
        "PROJ-SELECTION",
        if trimmed {
            format!("去掉一个最高分和一个最低分后平均:{mean}")
        } else {
            format!("平均分:{mean}")
        },
        if trimmed { format!("mean without the highest and lowest: {mean}") } else { format!("mean: {mean}") },
    ));
    Decision { outcome: Some(mean), policy_version: policy.version.clone(), rules }
}

/// The scoring rubric (评分细则) experts score an application on (PROJ-SELECTION): each criterion
/// and its maximum points, 100 in all.
pub const RUBRIC: [(&str, i64); 5] =
    [("PLAN", 30), ("CAPACITY", 20), ("TEACHERS", 20), ("EMPLOYMENT", 20), ("SAFETY", 10)];

/// PROJ-SELECTION: a score of 0 to `max` points with at most two decimals, as officers and
/// experts give them and as they are kept; `None` for any other text.
pub fn proj_selection_points(text: &str, max: Decimal) -> Option<Decimal> {
    let text = text.trim();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value: Decimal = text.parse().ok()?;
    (value.scale() <= 2 && value >= Decimal::ZERO && value <= max).then_some(value)
}

/// PROJ-SELECTION: an expert of the applicant's own organisation is recused; `organisation` is
/// the expert's (empty when the expert names none).
pub fn proj_selection_recusal(organisation: &str, applicant_organisation: &str) -> RuleResult {
    if organisation.is_empty() || organisation != applicant_organisation {
        return RuleResult::pass(
            "PROJ-SELECTION",
            "评审专家不属申报单位",
            "the expert is not of the applicant's organisation",
        );
    }
    RuleResult::fail(
        "PROJ-SELECTION",
        "评审专家来自申报单位,应回避",
        "the expert belongs to the applicant's organisation and is recused",
    )
}

/// PROJ-SELECTION: a project goes on for `provider` only when selection approved it and it is the
/// provider's own; `owner` is the provider of the approved project (`None`: no such project).
pub fn proj_selection_owner(owner: Option<&str>, provider: &str) -> RuleResult {
    match owner {
        Some(owner) if owner == provider => RuleResult::pass(
            "PROJ-SELECTION",
            "项目经遴选批准,属该机构",
            "the project was approved in selection and is the provider's own",
        ),
        Some(_) => RuleResult::fail("PROJ-SELECTION", "项目不属于该机构", "the project belongs to another provider"),
        None => RuleResult::fail("PROJ-SELECTION", "项目未经遴选批准", "no such approved project"),
    }
}

/// A ranked application asking for a headcount, PROJ-QUOTA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuotaRequest {
    /// The application.
    pub application_id: String,
    /// Trainees asked for.
    pub headcount: u32,
}

/// Whether a ranked application was approved within the quota.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuotaAllocation {
    /// The application.
    pub application_id: String,
    /// Approved.
    pub approved: bool,
    /// The rule result explaining it.
    pub rule: RuleResult,
}

/// PROJ-QUOTA: approve ranked applications in order while the quota lasts; approved headcount
/// never exceeds it. Ranking is strict (`quota_mode` = `STRICT`, policy set v1): once an
/// application does not fit, no lower-ranked one is approved ahead of it. [`decide_round`]
/// decides a round under either mode.
pub fn proj_quota(quota: u32, ranked: &[QuotaRequest]) -> Vec<QuotaAllocation> {
    let mut allocator = Allocator { mode: QuotaMode::Strict, left: quota, exhausted: false };
    ranked
        .iter()
        .map(|r| {
            let (approved, rule, _) = allocator.allocate(r.headcount, None);
            QuotaAllocation { application_id: r.application_id.clone(), approved: approved > 0, rule }
        })
        .collect()
}

/// PROJ-QUOTA: approved headcount never exceeds a quota (the yearly quota of a county or the
/// city): `approved` trainees against a quota of `quota`.
pub fn proj_quota_year(quota: u64, approved: u64) -> RuleResult {
    if approved <= quota {
        RuleResult::pass(
            "PROJ-QUOTA",
            format!("已批准{approved}人,未超过名额{quota}人"),
            format!("{approved} trainees approved, within the quota of {quota}"),
        )
    } else {
        RuleResult::fail(
            "PROJ-QUOTA",
            format!("已批准{approved}人,超过名额{quota}人"),
            format!("{approved} trainees approved, above the quota of {quota}"),
        )
    }
}

/// An officer's reduction of an application's headcount (核减), PROJ-SELECTION: instead of
/// skipping the marginal application that does not fit, approve it for fewer trainees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaReduction {
    /// The application reduced.
    pub application_id: String,
    /// The headcount it is reduced to, at least 1 and below what it asked.
    pub headcount: u32,
    /// The recorded reason.
    pub reason: String,
    /// The officer who reduced it.
    pub officer: String,
}

/// Shares a quota among ranked applications under a mode (PROJ-QUOTA).
struct Allocator {
    mode: QuotaMode,
    left: u32,
    exhausted: bool,
}

impl Allocator {
    /// Allocate to the next application in rank order asking `asked`, with the officer's
    /// reduction if there is one: the approved headcount (0 when not approved), the PROJ-QUOTA
    /// result and whether the reduction was applied.
    fn allocate(&mut self, asked: u32, reduction: Option<&QuotaReduction>) -> (u32, RuleResult, bool) {
        let before = self.left;
        if !self.exhausted && asked <= self.left {
            self.left -= asked;
            let left = self.left;
            let (note_zh, note_en) = if reduction.is_some() {
                (";核减未适用(全额可批)", "; the reduction was not needed")
            } else {
                ("", "")
            };
            let rule = RuleResult::pass(
                "PROJ-QUOTA",
                format!("批准{asked}人,剩余名额{left}人{note_zh}"),
                format!("approved {asked} trainees, {left} left in the quota{note_en}"),
            );
            return (asked, rule, false);
        }
        // 核减: the marginal application is approved for fewer trainees, with the recorded reason.
        if let Some(r) = reduction.filter(|r| !self.exhausted && r.headcount <= self.left) {
            self.left -= r.headcount;
            let left = self.left;
            let rule = RuleResult::pass(
                "PROJ-QUOTA",
                format!(
                    "申请{asked}人,剩余名额{before}人;经{}核减为{}人({}),剩余名额{left}人",
                    r.officer, r.headcount, r.reason
                ),
                format!(
                    "{asked} asked, {before} left: reduced by {} to {} ({}), {left} left in the quota",
                    r.officer, r.headcount, r.reason
                ),
            );
            return (r.headcount, rule, true);
        }
        let rule = match self.mode {
            QuotaMode::Strict => {
                self.exhausted = true;
                RuleResult::fail(
                    "PROJ-QUOTA",
                    format!("名额不足(申请{asked}人,剩余{before}人)"),
                    format!("quota exhausted ({asked} asked, {before} left)"),
                )
            }
            QuotaMode::Fit => RuleResult::fail(
                "PROJ-QUOTA",
                format!("名额不足,跳过(申请{asked}人,剩余{before}人),排名在后且名额够用的申请仍可批准"),
                format!(
                    "does not fit ({asked} asked, {before} left): skipped, later applications that fit are approved"
                ),
            ),
        };
        (0, rule, false)
    }
}

/// One application of a round as the service gathered it, PROJ-SELECTION.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundCandidate {
    /// The application.
    pub application_id: String,
    /// Its score (from [`proj_selection_score`] or the officers'); `None` when none could be made.
    pub score: Option<Decimal>,
    /// Trainees asked for.
    pub headcount: u32,
    /// When it was (last) submitted, microseconds since the epoch: the first tie-break.
    pub submitted_micros: i64,
    /// The rules already judged for it: the score's PROJ-SELECTION results, and on the day of the
    /// decision PROV-DISQUALIFIED, PROJ-CROSS-REGION and whether its catalog item is still
    /// published (PROJ-CATALOG).
    #[serde(default)]
    pub rules: Vec<RuleResult>,
    /// The experts' scores it was scored from, for the record.
    #[serde(default)]
    pub expert_scores: Vec<ExpertScore>,
}

/// What a round is decided on, PROJ-SELECTION and PROJ-QUOTA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundFacts {
    /// The submitted applications.
    pub candidates: Vec<RoundCandidate>,
    /// The quota left: the round's own quota, at most what remains of its county's yearly quota.
    pub quota_left: u32,
    /// Officers' reductions (核减), edition 2.
    #[serde(default)]
    pub reductions: Vec<QuotaReduction>,
}

/// One application's place in a decided round.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RankedCandidate {
    /// The application.
    pub application_id: String,
    /// Rank, from 1.
    pub rank: u32,
    /// The score it was ranked by.
    pub score: Option<Decimal>,
    /// Trainees asked for.
    pub headcount: u32,
    /// When it was submitted, microseconds.
    pub submitted_micros: i64,
    /// The experts' scores it was scored from.
    pub expert_scores: Vec<ExpertScore>,
    /// Whether it is approved.
    pub approved: bool,
    /// Trainees approved: its headcount, or the reduced one (核减); 0 when not approved.
    pub approved_headcount: u32,
    /// The officer's reduction, when it was applied.
    pub reduction: Option<QuotaReduction>,
    /// Every rule it was judged by, PROJ-QUOTA last when it reached the quota.
    pub rules: Vec<RuleResult>,
}

/// A decided round.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoundOutcome {
    /// The applications in rank order.
    pub ranking: Vec<RankedCandidate>,
    /// Trainees approved in all; never above `quota_left`.
    pub approved_headcount: u64,
    /// The quota the round shared.
    pub quota_left: u32,
    /// The mode it was shared under; a decided round stores it.
    pub quota_mode: QuotaMode,
}

/// PROJ-SELECTION: the rank order of a round: score descending (no valid score last), then the
/// earlier submission, then the application id, so equal scores always rank the same way.
pub fn rank_order(a: &RoundCandidate, b: &RoundCandidate) -> Ordering {
    match (a.score, b.score) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then(a.submitted_micros.cmp(&b.submitted_micros))
    .then_with(|| a.application_id.cmp(&b.application_id))
}

/// PROJ-SELECTION and PROJ-QUOTA: decide a round. The candidates are ranked ([`rank_order`]);
/// one is approved when it is scored, every rule gathered for it passed, and it fits the quota
/// left under the set's `quota_mode`: `STRICT` approves in rank order until one does not fit,
/// `FIT` approves every one that still fits, skipping one that does not. Under edition 2 an
/// officer may reduce the marginal application (核减): it is then approved for the reduced
/// headcount if that fits. Only a candidate that reached the quota gets a PROJ-QUOTA result; the
/// others took nothing from it. An error means the facts are inconsistent (two candidates with
/// one id, a reduction that is not a reduction or has no reason, a reduction under edition 1).
pub fn decide_round(policy: &PolicySet, facts: &RoundFacts) -> Result<Decision<RoundOutcome>, Error> {
    let mut ids = BTreeSet::new();
    for c in &facts.candidates {
        if !ids.insert(c.application_id.as_str()) {
            return Err(Error::Facts(format!("application {} is a candidate twice", c.application_id)));
        }
    }
    let mut reduced = BTreeSet::new();
    for r in &facts.reductions {
        if !policy.v2_rules() {
            return Err(Error::Facts(format!("policy set {} has no 核减 (reductions)", policy.version)));
        }
        let asked = facts.candidates.iter().find(|c| c.application_id == r.application_id).map(|c| c.headcount);
        let Some(asked) = asked else {
            return Err(Error::Facts(format!("the reduction names application {}, not a candidate", r.application_id)));
        };
        if r.headcount == 0 || r.headcount >= asked {
            return Err(Error::Facts(format!(
                "the reduction of application {} to {} is not between 1 and the {asked} it asked",
                r.application_id, r.headcount
            )));
        }
        if r.reason.trim().is_empty() || r.officer.trim().is_empty() {
            return Err(Error::Facts(format!(
                "the reduction of application {} needs an officer and a reason",
                r.application_id
            )));
        }
        if !reduced.insert(r.application_id.as_str()) {
            return Err(Error::Facts(format!("application {} is reduced twice", r.application_id)));
        }
    }

    let mut ranked: Vec<&RoundCandidate> = facts.candidates.iter().collect();
    ranked.sort_by(|a, b| rank_order(a, b));
    let mode = policy.quota_mode;
    let mut allocator = Allocator { mode, left: facts.quota_left, exhausted: false };
    let mut ranking = Vec::with_capacity(ranked.len());
    let mut total: u64 = 0;
    for (i, c) in ranked.into_iter().enumerate() {
        let mut rules = c.rules.clone();
        let mut approved_headcount = 0;
        let mut reduction = None;
        if c.score.is_some() && rules.iter().all(|r| r.passed) {
            let asked_reduction = facts.reductions.iter().find(|r| r.application_id == c.application_id);
            let (approved, rule, applied) = allocator.allocate(c.headcount, asked_reduction);
            rules.push(rule);
            approved_headcount = approved;
            if applied {
                reduction = asked_reduction.cloned();
            }
        }
        total += u64::from(approved_headcount);
        ranking.push(RankedCandidate {
            application_id: c.application_id.clone(),
            rank: u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1),
            score: c.score,
            headcount: c.headcount,
            submitted_micros: c.submitted_micros,
            expert_scores: c.expert_scores.clone(),
            approved: approved_headcount > 0,
            approved_headcount,
            reduction,
            rules,
        });
    }
    let approved_count = ranking.iter().filter(|r| r.approved).count();
    let (mode_zh, mode_en) = match mode {
        QuotaMode::Strict => ("按排名顺序,名额不足即止", "strictly in rank order"),
        QuotaMode::Fit => ("按排名顺序批准仍能容纳的申请", "every application that still fits, in rank order"),
    };
    let summary = proj_quota_year(u64::from(facts.quota_left), total);
    let rule = RuleResult {
        reason_zh: format!("{mode_zh}:批准{approved_count}个申请共{total}人,名额{}人", facts.quota_left),
        reason_en: format!(
            "{mode_en}: {approved_count} application(s) approved for {total} trainees of a quota of {}",
            facts.quota_left
        ),
        ..summary
    };
    Ok(Decision {
        outcome: RoundOutcome { ranking, approved_headcount: total, quota_left: facts.quota_left, quota_mode: mode },
        policy_version: policy.version.clone(),
        rules: vec![rule],
    })
}

/// How a submitted application is scored (PROJ-SELECTION).
#[derive(Debug, Clone, PartialEq)]
pub enum Scoring {
    /// By its experts (专家评审), recused experts included.
    Experts(Vec<ExpertScore>),
    /// By the officers (遴选, 揭榜领题, 综合评议).
    Officers(Decimal),
}

/// One submitted application with the facts its judgement on the day of the decision rests on.
#[derive(Debug, Clone)]
pub struct Application {
    /// The application.
    pub application_id: String,
    /// The applicant's credit code (recusal under expert review).
    pub provider_credit_code: String,
    /// Trainees asked for.
    pub headcount: u32,
    /// When it was (last) submitted, microseconds since the epoch.
    pub submitted_micros: i64,
    /// How it is scored.
    pub scoring: Scoring,
    /// The provider as PROV-DISQUALIFIED sees it.
    pub provider: ProviderFacts,
    /// The provider's county and the county of training, and whether consent to train outside
    /// the provider's county is recorded (PROJ-CROSS-REGION).
    pub regions: (RegionCode, RegionCode, bool),
    /// PROJ-CATALOG: why the catalog item applied for is no longer published, if it is not.
    pub item_withdrawn: Option<RuleResult>,
    /// PROJ-INSERVICE: `Some` for an application training in-service workers, with the item's
    /// key-industry and urgent-occupation basis if it has one.
    pub in_service: Option<Option<InServiceBasis>>,
}

/// The application as the policy core decides it on `today` under `policy`: scored
/// (PROJ-SELECTION), and once scored checked again on the day of the decision: its provider not
/// disqualified (PROV-DISQUALIFIED), training outside the provider's county consented to
/// (PROJ-CROSS-REGION), the item still in the catalog (PROJ-CATALOG) and, for in-service
/// trainees, the item's key-industry and urgent-occupation basis (PROJ-INSERVICE).
pub fn judge_application(policy: &PolicySet, today: NaiveDate, a: &Application) -> RoundCandidate {
    let (score, expert_scores, mut rules) = match &a.scoring {
        Scoring::Experts(scores) => {
            let decision = proj_selection_score(policy, &a.provider_credit_code, scores);
            (decision.outcome, scores.clone(), decision.rules)
        }
        Scoring::Officers(score) => {
            let rule =
                RuleResult::pass("PROJ-SELECTION", format!("评议得分:{score}"), format!("officers' score: {score}"));
            (Some(*score), Vec::new(), vec![rule])
        }
    };
    if score.is_some() {
        let (provider_region, training_region, consented) = a.regions;
        rules.push(prov_disqualified(&a.provider, today));
        rules.push(proj_cross_region(provider_region, training_region, consented));
        rules.extend(a.item_withdrawn.clone());
        if let Some(basis) = &a.in_service {
            rules.push(proj_inservice(policy, true, basis.as_ref()));
        }
    }
    RoundCandidate {
        application_id: a.application_id.clone(),
        score,
        headcount: a.headcount,
        submitted_micros: a.submitted_micros,
        rules,
        expert_scores,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(expert: &str, org: &str, v: i64) -> ExpertScore {
        ExpertScore {
            expert: expert.to_owned(),
            organisation: org.to_owned(),
            conflict_declared: false,
            score: Decimal::from(v),
        }
    }

    #[test]
    fn proj_selection_mean_drops_extremes_from_five_scores() {
        let p = PolicySet::xianning_2025_5_v1();
        let four = [score("a", "x", 60), score("b", "y", 80), score("c", "z", 90), score("d", "w", 100)];
        assert_eq!(proj_selection_score(&p, "me", &four).outcome, Some(Decimal::new(825, 1)));
        let five =
            [score("a", "x", 60), score("b", "y", 80), score("c", "z", 90), score("d", "w", 100), score("e", "v", 70)];
        assert_eq!(proj_selection_score(&p, "me", &five).outcome, Some(Decimal::from(80)));
    }

    #[test]
    fn proj_selection_recusal_and_min_experts() {
        let p = PolicySet::xianning_2025_5_v1();
        let mut conflicted = score("c", "z", 100);
        conflicted.conflict_declared = true;
        let scores = [score("a", "x", 60), score("b", "me", 100), conflicted];
        let dec = proj_selection_score(&p, "me", &scores);
        assert_eq!(dec.outcome, None);
        assert!(!dec.all_passed());
        let scores = [score("a", "x", 60), score("b", "y", 70), score("c", "z", 80), score("d", "me", 100)];
        assert_eq!(proj_selection_score(&p, "me", &scores).outcome, Some(Decimal::from(70)));
    }

    #[test]
    fn points_have_at_most_two_decimals_within_the_maximum() {
        assert_eq!(proj_selection_points("29.5", Decimal::from(30)), Some(Decimal::new(295, 1)));
        assert_eq!(proj_selection_points("30", Decimal::from(30)), Some(Decimal::from(30)));
        for bad in ["", "30.01", "1.234", "-1", "1e2", " "] {
            assert_eq!(proj_selection_points(bad, Decimal::from(30)), None, "{bad:?}");
        }
    }

    #[test]
    fn proj_selection_recuses_the_applicants_own_experts_and_keeps_projects_to_their_provider() {
        assert!(!proj_selection_recusal("me", "me").passed);
        assert!(proj_selection_recusal("", "me").passed && proj_selection_recusal("other", "me").passed);
        assert!(proj_selection_owner(Some("me"), "me").passed);
        assert!(!proj_selection_owner(Some("other"), "me").passed && !proj_selection_owner(None, "me").passed);
    }

    #[test]
    fn proj_quota_never_exceeded_and_ranking_strict() {
        let req = |id: &str, n| QuotaRequest { application_id: id.to_owned(), headcount: n };
        let out = proj_quota(100, &[req("a", 60), req("b", 40), req("c", 1)]);
        assert_eq!(out.iter().map(|a| a.approved).collect::<Vec<_>>(), [true, true, false]);
        let out = proj_quota(100, &[req("a", 60), req("b", 50), req("c", 10)]);
        assert_eq!(out.iter().map(|a| a.approved).collect::<Vec<_>>(), [true, false, false]);
    }

    fn application(id: &str, headcount: u32, score: i64, submitted_micros: i64) -> Application {
        let county = RegionCode::parse("421221").expect("county");
        Application {
            application_id: id.into(),
            provider_credit_code: format!("provider-{id}"),
            headcount,
            submitted_micros,
            scoring: Scoring::Officers(Decimal::from(score)),
            provider: ProviderFacts {
                name: String::new(),
                uscc: format!("provider-{id}"),
                pilot_override: None,
                pays_tax_locally: true,
                independent_legal_person: true,
                violations: Vec::new(),
                kind: crate::policy::provider::ProviderKind::PrivateTrainingSchool,
                kind_facts: Default::default(),
                disqualified_on: None,
            },
            regions: (county, county, false),
            item_withdrawn: None,
            in_service: None,
        }
    }

    fn decided(
        policy: &PolicySet,
        quota_left: u32,
        applications: &[Application],
        reductions: Vec<QuotaReduction>,
    ) -> Result<Decision<RoundOutcome>, Error> {
        let candidates = applications.iter().map(|a| judge_application(policy, june(), a)).collect();
        decide_round(policy, &RoundFacts { candidates, quota_left, reductions })
    }

    fn june() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).expect("a day")
    }

    /// The applications in rank order, each with whether it was approved and for how many.
    fn approvals(decision: &Decision<RoundOutcome>) -> Vec<(&str, bool, u32)> {
        decision.outcome.ranking.iter().map(|r| (r.application_id.as_str(), r.approved, r.approved_headcount)).collect()
    }

    #[test]
    fn proj_quota_strict_under_v1_approves_in_rank_order_until_one_does_not_fit() {
        let policy = PolicySet::xianning_2025_5_v1();
        let applications = [application("b", 30, 80, 1), application("a", 40, 90, 2), application("c", 5, 70, 3)];
        let decision = decided(&policy, 50, &applications, Vec::new()).expect("decided");
        // 40 fit; the next asks 30 of the 10 left and does not fit, so the third (5) is not
        // approved ahead of it.
        assert_eq!(approvals(&decision), [("a", true, 40), ("b", false, 0), ("c", false, 0)]);
        assert_eq!(decision.outcome.quota_mode, QuotaMode::Strict);
        let quota_rule = |r: &RankedCandidate| r.rules.iter().find(|rule| rule.code == "PROJ-QUOTA").map(|x| x.passed);
        assert_eq!(
            decision.outcome.ranking.iter().map(quota_rule).collect::<Vec<_>>(),
            [Some(true), Some(false), Some(false)]
        );
    }

    #[test]
    fn proj_quota_fit_under_v2_approves_what_still_fits_after_a_larger_one_is_skipped() {
        let policy = PolicySet::xianning_2025_5_v2();
        let applications = [application("b", 30, 80, 1), application("a", 40, 90, 2), application("c", 5, 70, 3)];
        let decision = decided(&policy, 50, &applications, Vec::new()).expect("decided");
        assert_eq!(approvals(&decision), [("a", true, 40), ("b", false, 0), ("c", true, 5)]);
        assert_eq!((decision.outcome.quota_mode, decision.outcome.approved_headcount), (QuotaMode::Fit, 45));
    }

    #[test]
    fn proj_selection_a_reduction_approves_the_marginal_application_for_fewer() {
        let policy = PolicySet::xianning_2025_5_v2();
        let applications = [application("a", 40, 90, 1), application("b", 30, 80, 2)];
        let reduce = |headcount| {
            vec![QuotaReduction {
                application_id: "b".into(),
                headcount,
                reason: "按剩余名额核减".into(),
                officer: "officer".into(),
            }]
        };
        let decision = decided(&policy, 50, &applications, reduce(10)).expect("decided");
        assert_eq!(approvals(&decision), [("a", true, 40), ("b", true, 10)]);
        let reduced = &decision.outcome.ranking[1];
        assert_eq!(reduced.reduction.as_ref().map(|r| r.reason.as_str()), Some("按剩余名额核减"));
        let too_many = decided(&policy, 50, &applications, reduce(30)).expect_err("not a reduction");
        assert!(matches!(too_many, Error::Facts(_)));
        let v1 = decided(&PolicySet::xianning_2025_5_v1(), 50, &applications, reduce(10));
        assert!(v1.is_err(), "policy set v1 has no 核减");
    }

    #[test]
    fn equal_scores_rank_by_submission_then_id_and_a_failed_rule_takes_no_quota() {
        let policy = PolicySet::xianning_2025_5_v1();
        let mut disqualified = application("a", 10, 90, 1);
        disqualified.provider.disqualified_on = Some(june());
        let applications = [application("c", 10, 90, 2), disqualified, application("b", 10, 90, 2)];
        let decision = decided(&policy, 10, &applications, Vec::new()).expect("decided");
        assert_eq!(approvals(&decision), [("a", false, 0), ("b", true, 10), ("c", false, 0)]);
        let first = &decision.outcome.ranking[0];
        assert!(first.rules.iter().any(|r| r.code == "PROV-DISQUALIFIED" && !r.passed));
        assert!(first.rules.iter().all(|r| r.code != "PROJ-QUOTA"), "a candidate failing a rule asks no quota");
    }

    #[test]
    fn an_item_no_longer_in_the_catalog_is_not_approved() {
        let policy = PolicySet::xianning_2025_5_v2();
        let mut withdrawn = application("a", 10, 90, 1);
        withdrawn.item_withdrawn = Some(RuleResult::fail("PROJ-CATALOG", "已不在公布目录中", "no longer published"));
        let decision = decided(&policy, 100, &[withdrawn], Vec::new()).expect("decided");
        assert!(!decision.outcome.ranking[0].approved);
        assert!(decision.outcome.ranking[0].rules.iter().any(|r| r.code == "PROJ-CATALOG" && !r.passed));
    }

    #[test]
    fn proj_inservice_an_in_service_application_needs_its_items_basis_under_v2() {
        let mut in_service = application("a", 10, 90, 1);
        in_service.in_service = Some(None);
        let rule = |policy: &PolicySet, a: &Application| {
            let judged = judge_application(policy, june(), a);
            judged.rules.into_iter().find(|r| r.code == "PROJ-INSERVICE").map(|r| r.passed)
        };
        assert_eq!(rule(&PolicySet::xianning_2025_5_v2(), &in_service), Some(false));
        assert_eq!(rule(&PolicySet::xianning_2025_5_v1(), &in_service), Some(true), "not a rule of v1");
        in_service.in_service = Some(Some(InServiceBasis {
            industry: crate::Industry::EquipmentManufacturing,
            urgent_occupation_reference: Some("咸宁市急需紧缺工种目录(2025)".into()),
        }));
        assert_eq!(rule(&PolicySet::xianning_2025_5_v2(), &in_service), Some(true));
        assert_eq!(rule(&PolicySet::xianning_2025_5_v2(), &application("b", 10, 90, 1)), None);
    }
}
