//! Project selection (项目遴选) and quotas: PROJ-SELECTION and PROJ-QUOTA.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::policy::decision::{Decision, RuleResult};
use crate::policy::set::PolicySet;

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
/// never exceeds it. *interpretation*: ranking is strict, so once an application does not fit,
/// no lower-ranked one is approved ahead of it.
pub fn proj_quota(quota: u32, ranked: &[QuotaRequest]) -> Vec<QuotaAllocation> {
    let mut left = quota;
    let mut exhausted = false;
    ranked
        .iter()
        .map(|r| {
            let fits = !exhausted && r.headcount <= left;
            if fits {
                left -= r.headcount;
            } else {
                exhausted = true;
            }
            QuotaAllocation {
                application_id: r.application_id.clone(),
                approved: fits,
                rule: if fits {
                    RuleResult::pass(
                        "PROJ-QUOTA",
                        format!("批准{}人,剩余名额{left}人", r.headcount),
                        format!("approved {} trainees, {left} left in the quota", r.headcount),
                    )
                } else {
                    RuleResult::fail(
                        "PROJ-QUOTA",
                        format!("名额不足(申请{}人,剩余{left}人)", r.headcount),
                        format!("quota exhausted ({} asked, {left} left)", r.headcount),
                    )
                },
            }
        })
        .collect()
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
    fn proj_quota_never_exceeded_and_ranking_strict() {
        let req = |id: &str, n| QuotaRequest { application_id: id.to_owned(), headcount: n };
        let out = proj_quota(100, &[req("a", 60), req("b", 40), req("c", 1)]);
        assert_eq!(out.iter().map(|a| a.approved).collect::<Vec<_>>(), [true, true, false]);
        let out = proj_quota(100, &[req("a", 60), req("b", 50), req("c", 10)]);
        assert_eq!(out.iter().map(|a| a.approved).collect::<Vec<_>>(), [true, false, false]);
    }
}
