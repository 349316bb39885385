//! Replay (复算): a claim's facts as one JSON document in, its decision out, and a readable
//! table explaining it. This is what `qiancheng policy evaluate` and `qiancheng policy explain`
//! run; the facts format is documented in `docs/policy-facts.md`.
//!
//! The facts name the policy set they are decided under, and the replay dispatches by it: a
//! built-in version (`xianning-2025-5/v1` replays a v1 decision exactly as it was made,
//! `xianning-2025-5/v2` decides as docs/RULES.md describes v2), or a whole policy object. A policy
//! object that carries a built-in version string with other parameters is refused, and so is a
//! recorded `policy_digest` that is not the set's: a decision can never claim a version while
//! using other figures.

use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::Error;
use crate::policy::claim::evaluate_claim;
use crate::policy::facts::ClassFacts;
use crate::policy::outcome::{Basis, Route};
use crate::policy::set::PolicySet;
use crate::policy::subsidy::{
    ClaimDecision, ClaimFacts, ClaimMaterial, ClaimTrainee, LineExclusion, ProjectBasis, ProjectFacts,
    subs_review_exclusions,
};
use crate::policy::tables::{MinimumWage, MinimumWageTable, SubsidyStandard, SubsidyStandardTable};

/// A replay file: the claim's facts, the tables and which policy set to use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayFacts {
    /// The policy-set version to use: a built-in one (`xianning-2025-5/v1`, `xianning-2025-5/v2`),
    /// or the version of `policy`.
    #[serde(default)]
    pub policy_version: Option<String>,
    /// The digest recorded with the decision ([`PolicySet::digest`]); when given, the set used
    /// must have it.
    #[serde(default)]
    pub policy_digest: Option<String>,
    /// A whole policy set to use instead of a built-in one; one that names a built-in version must
    /// carry exactly its parameters.
    #[serde(default)]
    pub policy: Option<PolicySet>,
    /// The subsidy standards table (SUBS-STANDARD).
    pub subsidy_standards: Vec<SubsidyStandard>,
    /// The minimum wage table (OUT-EMP-SERVICE).
    #[serde(default)]
    pub minimum_wages: Vec<MinimumWage>,
    /// The project.
    pub project: ProjectFacts,
    /// Every class of the project.
    pub classes: Vec<ClassFacts>,
    /// The trainees claimed for.
    pub trainees: Vec<ClaimTrainee>,
    /// The filing date of the claim.
    pub filed_on: NaiveDate,
    /// The proofs the claim carries (SUBS-MATERIALS, edition 2).
    #[serde(default)]
    pub materials: Vec<ClaimMaterial>,
    /// The lines officers excluded at review, each with its reason (CLAIM_LINE_EXCLUDED).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<LineExclusion>,
}

impl ReplayFacts {
    /// The policy set the facts ask for: the built-in set of `policy_version`, or the `policy`
    /// object, checked; refused when the object names a built-in version with other parameters,
    /// when version and object disagree, when `policy_digest` is not the set's, and when the facts
    /// name no set at all (a decision is always made under a named set).
    pub fn policy_set(&self) -> Result<PolicySet, Error> {
        let set = match (&self.policy, &self.policy_version) {
            (Some(set), version) => {
                set.validate()?;
                set.check_builtin_identity()?;
                if let Some(v) = version.as_deref().filter(|v| *v != set.version) {
                    return Err(Error::Facts(format!(
                        "policy_version {v} is not the version of the policy object, {}",
                        set.version
                    )));
                }
                set.clone()
            }
            (None, Some(v)) => return PolicySet::recorded(v, self.policy_digest.as_deref()),
            (None, None) => {
                return Err(Error::Facts(format!(
                    "the facts name no policy set: give policy_version ({} for a new decision, {} to replay one made \
                     under v1) or a whole policy object",
                    PolicySet::XIANNING_2025_5_V2,
                    PolicySet::XIANNING_2025_5_V1
                )));
            }
        };
        match &self.policy_digest {
            Some(d) if *d != set.digest() => {
                Err(Error::PolicySetTampered { version: set.version.clone(), expected: set.digest(), found: d.clone() })
            }
            _ => Ok(set),
        }
    }
}

/// Evaluate the claim described by a replay file (see `docs/policy-facts.md`).
pub fn evaluate_claim_json(facts_json: &str) -> Result<ClaimDecision, Error> {
    let facts: ReplayFacts = serde_json::from_str(facts_json).map_err(Error::Json)?;
    evaluate_replay(&facts)
}

/// Evaluate an already-read replay file.
pub fn evaluate_replay(facts: &ReplayFacts) -> Result<ClaimDecision, Error> {
    let policy = facts.policy_set()?;
    let standards = SubsidyStandardTable::new(facts.subsidy_standards.clone())?;
    let wages = MinimumWageTable::new(facts.minimum_wages.clone())?;
    let claim = ClaimFacts {
        project: facts.project.clone(),
        classes: facts.classes.clone(),
        trainees: facts.trainees.clone(),
        filed_on: facts.filed_on,
        materials: facts.materials.clone(),
    };
    let mut decision = evaluate_claim(&policy, &claim, &standards, &wages)?;
    if !facts.exclusions.is_empty() {
        decision.outcome = subs_review_exclusions(decision.outcome, &claim.trainees, &facts.exclusions)?;
    }
    Ok(decision)
}

/// The decision as pretty JSON (what `qiancheng policy evaluate` prints).
pub fn decision_json(decision: &ClaimDecision) -> Result<String, Error> {
    serde_json::to_string_pretty(decision).map_err(Error::Json)
}

fn mark(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

/// A readable plain-text table of a claim decision: the project's rate and tier, then per
/// trainee the amount and every rule with its reason in Chinese and English.
pub fn explain_table(decision: &ClaimDecision) -> String {
    let o = &decision.outcome;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "政策版本 policy set: {}", decision.policy_version);
    let _ = writeln!(out, "项目 project: {}", o.project_id);
    let basis = match o.basis {
        ProjectBasis::CertificateRate => "取证率 certificate rate",
        ProjectBasis::EmploymentRate => "就业率 employment rate",
        ProjectBasis::Mixed => "取证/就业 mixed",
    };
    let _ = writeln!(out, "评估依据 basis: {basis}");
    if o.rates.is_empty() {
        let _ = writeln!(out, "比率 rate: {}", o.rate.map_or_else(|| "-".to_owned(), |r| r.to_string()));
        let _ = writeln!(out, "档次 tier: {}", o.tier_percent.map_or_else(|| "-".to_owned(), |t| format!("{t}%")));
    }
    // Edition 2: one rate per kind of trainee, never blended (PROJ-BASIS, OUT-RATE).
    for r in &o.rates {
        let _ = writeln!(
            out,
            "{} {}: {} | 档次 tier: {} | 花名册 roster {}, 非培训对象 not 培训对象 {}, 计入他处 counted elsewhere {}",
            r.basis.rate_name_zh(),
            r.basis.rate_name_en(),
            r.rate.map_or_else(|| "-".to_owned(), |rate| rate.to_string()),
            r.tier_percent.map_or_else(|| "-".to_owned(), |t| format!("{t}%")),
            r.on_roster,
            r.not_plan_trainees,
            r.counted_elsewhere
        );
    }
    let _ = writeln!(out, "合计 total: {} 元 yuan ({} 条 lines)", o.total_fen, o.lines.len());
    let _ = writeln!(out);
    let _ = writeln!(out, "项目规则 project rules");
    for r in &decision.rules {
        let _ = writeln!(out, "  [{}] {:<18} {} | {}", mark(r.passed), r.code, r.reason_zh, r.reason_en);
    }
    let _ = writeln!(out);
    let _ =
        writeln!(out, "学员 trainee | 身份证 id | 班次 class | 倍数 % | 金额 amount (元 yuan) | 停止规则 stopped by");
    let _ = writeln!(out, "{}", "-".repeat(96));
    for line in &o.lines {
        let _ = writeln!(
            out,
            "{} | {} | {} | {}% | {} | {}",
            line.trainee_name,
            line.id_number_masked,
            line.class_id,
            line.multiplier_percent,
            line.amount_fen,
            line.stopped_by.as_deref().unwrap_or("-")
        );
    }
    for line in &o.lines {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} ({}) {} 元 yuan, {}",
            line.trainee_name,
            line.id_number_masked,
            line.amount_fen,
            line.group.name_zh()
        );
        let verdict = match &line.verdict {
            None => "未计入比率 not counted in the rate".to_owned(),
            Some(v) => {
                let route = match v.route {
                    Some(Route::Contract) => "劳动合同 contract",
                    Some(Route::Business) => "创业 own business",
                    Some(Route::Service) => "劳务 labour service",
                    Some(Route::Registration) => "就业登记/中介 registration or agency",
                    Some(Route::Certificate) => "取证 certificate",
                    None => "无 none",
                };
                format!(
                    "{} {} ({route})",
                    if v.positive { "计入分子 positive" } else { "未达标 negative" },
                    match v.basis {
                        Basis::Certificate => "取证 certificate",
                        Basis::Employment => "就业 employment",
                    }
                )
            }
        };
        let _ = writeln!(out, "  结果 verdict: {verdict}");
        for r in &line.rules {
            let _ = writeln!(out, "  [{}] {:<18} {} | {}", mark(r.passed), r.code, r.reason_zh, r.reason_en);
        }
    }
    out
}
