//! The subsidy claim under `rules_edition` 2 (五, 七(四)(五)): OUT-RATE by kind of trainee,
//! PROJ-BASIS, SUBS-MATERIALS, and the claim's lines as POLICY.md v2 describes them.
//!
//! The facts' trainees are the real-name roster of every class of the project (the supervision
//! service's, never a list the claimant supplies). Each trainee is judged in one group
//! (ELIG-GROUP), which fixes the kind of rate they count in and are paid by (PROJ-BASIS): the
//! certificate rate for in-service and pre-hire trainees, the employment rate for everyone else.
//! People who are not 培训对象 (PERSON-ID, ELIG-AGE, ELIG-FISCAL or ELIG-LOCAL failed) are in
//! neither term of a rate; one person on two classes of the claim is one trainee, counted and
//! paid once, in the class filed first (ELIG-OVERLAP, ELIG-ONCE); trainees stopped only by
//! ELIG-ONCE or a missing contract (ELIG-PREHIRE) stay in both terms. A kind with no completed
//! trainee has no rate and only its lines go unpaid. Every line lists every rule it was judged
//! by, passed or failed: eligibility, completion, the outcome rules with their reasons, its
//! kind's rate and tier, and the amount's rules.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::policy::class::evaluate_completion_in;
use crate::policy::decision::{Decision, RuleResult};
use crate::policy::eligibility::{TraineeContext, judge_trainee};
use crate::policy::facts::ClassFacts;
use crate::policy::outcome::{Basis, Verdict, evaluate_outcome};
use crate::policy::project::ProjectBasis;
use crate::policy::set::PolicySet;
use crate::policy::subsidy::{
    ClaimDecision, ClaimFacts, ClaimOutcome, ClaimTrainee, KindRate, SubsidyLine, class_of, last_class_end,
    line_amount, mask, out_rate, prov_disqualified_claim_rule, standard_rule, subs_deadline, subs_eligible_rule,
    subs_materials,
};
use crate::policy::tables::{MinimumWageTable, SubsidyStandardTable};
use crate::{Error, IdNumber, Money, TargetGroup};

/// Evaluate a claim: every rule for every trainee, the project's rate and tier, one line per
/// trainee and the total. An error means the facts themselves are inconsistent (a trainee on an
/// unknown class, no classes), never that a rule failed. Under `rules_edition` 2 the claim is
/// decided as [`evaluate_claim_v2`] describes, under 1 as policy set v1 did.
pub fn evaluate_claim(
    policy: &PolicySet,
    facts: &ClaimFacts,
    standards: &SubsidyStandardTable,
    wages: &MinimumWageTable,
) -> Result<ClaimDecision, Error> {
    if policy.v2_rules() {
        evaluate_claim_v2(policy, facts, standards, wages)
    } else {
        crate::policy::subsidy::evaluate_claim_v1(policy, facts, standards, wages)
    }
}

/// One roster entry as judged.
struct Judged<'a> {
    trainee: &'a ClaimTrainee,
    class: &'a ClassFacts,
    group: TargetGroup,
    basis: Basis,
    plan_trainee: bool,
    /// Eligibility and completion rules, in order.
    rules: Vec<RuleResult>,
    completed: bool,
    /// A second entry of a person already on the claim, or a person an overlapping class filed
    /// earlier keeps: counted once, elsewhere.
    elsewhere: bool,
    verdict: Option<Decision<Verdict>>,
}

/// The person an entry is: the parsed ID number, or the raw one trimmed and upper-cased.
fn person_key(raw: &str) -> String {
    IdNumber::parse(raw).map_or_else(|_| raw.trim().to_ascii_uppercase(), |id| id.as_str().to_owned())
}

/// Orders classes by who keeps a person on two of them: filed first, then first day, then id;
/// an unknown filing day sorts last.
fn filing_order(class: &ClassFacts) -> (NaiveDate, NaiveDate, &str) {
    (class.filed_on.unwrap_or(NaiveDate::MAX), class.first_day, class.id.as_str())
}

/// Replace the rule `code` in `rules` by `rule` (or append it).
fn put_rule(rules: &mut Vec<RuleResult>, rule: RuleResult) {
    match rules.iter_mut().find(|r| r.code == rule.code) {
        Some(slot) => *slot = rule,
        None => rules.push(rule),
    }
}

/// ELIG-OVERLAP and ELIG-ONCE within the claim: one person is one trainee. Their entries are
/// taken in the order their classes were filed; an entry on a class overlapping one already kept
/// fails ELIG-OVERLAP, and an entry on a later class after one already kept in which they
/// completed fails ELIG-ONCE (the same project: the same occupation and level). Either is counted
/// once, elsewhere.
fn one_person_one_trainee(judged: &mut [Judged<'_>]) {
    let mut by_person: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, j) in judged.iter().enumerate() {
        by_person.entry(person_key(&j.trainee.person.id_number)).or_default().push(i);
    }
    for mut entries in by_person.into_values().filter(|e| e.len() > 1) {
        entries.sort_by(|a, b| filing_order(judged[*a].class).cmp(&filing_order(judged[*b].class)).then(a.cmp(b)));
        let mut kept: Vec<usize> = Vec::new();
        for later in entries {
            let class = judged[later].class;
            let overlapping = kept
                .iter()
                .find(|k| {
                    let other = judged[**k].class;
                    class.first_day <= other.last_day && other.first_day <= class.last_day
                })
                .map(|k| judged[*k].class.id.clone());
            let completed_before = kept.iter().find(|k| judged[**k].completed).map(|k| judged[*k].class.id.clone());
            let rule = match (overlapping, completed_before) {
                (Some(kept_id), _) => RuleResult::fail(
                    "ELIG-OVERLAP",
                    format!("同一人已在时间重叠、先备案的班次{kept_id}名单中,一人只算一名学员"),
                    format!(
                        "the same person is on overlapping class {kept_id}, filed first: one person is one trainee"
                    ),
                ),
                (None, Some(kept_id)) => RuleResult::fail(
                    "ELIG-ONCE",
                    format!("同一人已在本申请的班次{kept_id}结业,同职业同等级只计一次"),
                    format!("the same person completed class {kept_id} of this claim: once per occupation and level"),
                ),
                (None, None) => {
                    kept.push(later);
                    continue;
                }
            };
            let j = &mut judged[later];
            put_rule(&mut j.rules, rule);
            j.elsewhere = true;
        }
    }
}

/// The claim as POLICY.md v2 decides it (see the module documentation). An error means the facts
/// themselves are inconsistent (a trainee on an unknown class, no classes), never that a rule
/// failed.
pub fn evaluate_claim_v2(
    policy: &PolicySet,
    facts: &ClaimFacts,
    standards: &SubsidyStandardTable,
    wages: &MinimumWageTable,
) -> Result<ClaimDecision, Error> {
    let project = &facts.project;
    let last_end = last_class_end(&facts.classes)?;

    // Per roster entry: eligibility (with the group it is judged in) and completion.
    let mut judged = Vec::with_capacity(facts.trainees.len());
    for t in &facts.trainees {
        let class = class_of(&facts.classes, t)?;
        let ctx = TraineeContext {
            class,
            occupation: &project.occupation,
            level: project.level,
            key_project: project.key_project.as_ref(),
            as_of: facts.filed_on,
        };
        let eligibility = judge_trainee(policy, &ctx, &t.person);
        let completion = evaluate_completion_in(
            policy,
            class.hours,
            t.attended_hours,
            t.assessment_passed,
            t.skill_evaluation_passed,
        );
        let mut rules = eligibility.rules;
        rules.extend(completion.rules);
        let group = eligibility.outcome.group;
        judged.push(Judged {
            trainee: t,
            class,
            group,
            basis: policy.basis_for(group),
            plan_trainee: eligibility.outcome.plan_trainee,
            rules,
            completed: completion.outcome,
            elsewhere: false,
            verdict: None,
        });
    }
    one_person_one_trainee(&mut judged);

    // OUT-RATE counts completed 培训对象 on the roster, each person once, in the class filed first.
    for j in &mut judged {
        let passed = |code: &str| j.rules.iter().filter(|r| r.code == code).all(|r| r.passed);
        j.elsewhere |= !passed("ELIG-OVERLAP");
        let counted = passed("ELIG-REALNAME") && j.completed && j.plan_trainee && !j.elsewhere;
        if counted {
            j.verdict = Some(j.trainee.verdict.clone().unwrap_or_else(|| {
                evaluate_outcome(policy, j.class, &project.occupation, j.group, &j.trainee.evidence, wages)
            }));
        }
    }
    let mut rates: Vec<KindRate> = Vec::new();
    for basis in [Basis::Employment, Basis::Certificate] {
        let of_kind: Vec<&Judged> = judged.iter().filter(|j| j.basis == basis).collect();
        if of_kind.is_empty() {
            continue;
        }
        let on_roster = of_kind.len() as u64;
        let not_plan_trainees = of_kind.iter().filter(|j| !j.plan_trainee).count() as u64;
        let counted_elsewhere = of_kind.iter().filter(|j| j.plan_trainee && j.elsewhere).count() as u64;
        let completed = of_kind.iter().filter(|j| j.verdict.is_some()).count() as u64;
        let positive = of_kind.iter().filter(|j| j.verdict.as_ref().is_some_and(|v| v.outcome.positive)).count() as u64;
        let rate = out_rate(positive, completed);
        let tiers = policy.tiers_for(basis);
        let tier = rate.map(|r| tiers.tier_of(r));
        rates.push(KindRate {
            basis,
            on_roster,
            not_plan_trainees,
            counted_elsewhere,
            completed,
            positive,
            rate,
            tier,
            tier_percent: tier.map(|t| tiers.percent_of(t)),
        });
    }
    let rate_of = |basis: Basis| rates.iter().find(|r| r.basis == basis);

    // Claim-level rules: a failure stops every line.
    let kinds: Vec<Basis> = rates.iter().filter(|r| r.completed > 0).map(|r| r.basis).collect();
    let mut claim_rules = vec![subs_deadline(policy, last_end, facts.filed_on)];
    claim_rules.push(prov_disqualified_claim_rule(project.provider_disqualified_on));
    claim_rules.push(subs_materials(policy, &facts.materials, &kinds));
    let claim_stop = claim_rules.iter().find(|r| !r.passed).cloned();
    let basis = match kinds.as_slice() {
        [Basis::Certificate] => ProjectBasis::CertificateRate,
        [_, _] => ProjectBasis::Mixed,
        _ => ProjectBasis::EmploymentRate,
    };
    claim_rules.push(match basis {
        ProjectBasis::Mixed => RuleResult::pass(
            "PROJ-BASIS",
            "在岗职工和项目企业拟招聘对象按取证率、其他学员按就业率,两个比率分别计算,不合并",
            "in-service and pre-hire trainees by the certificate rate, the others by the employment rate: two \
             rates, never blended",
        ),
        ProjectBasis::CertificateRate => RuleResult::pass(
            "PROJ-BASIS",
            "学员均为在岗职工或项目企业拟招聘对象,按取证率评估",
            "in-service and pre-hire trainees: judged by the certificate rate",
        ),
        ProjectBasis::EmploymentRate => RuleResult::pass("PROJ-BASIS", "按就业率评估", "judged by the employment rate"),
    });
    let mut kind_rules: BTreeMap<&'static str, (RuleResult, Option<RuleResult>)> = BTreeMap::new();
    for r in &rates {
        let (name_zh, name_en) = (r.basis.rate_name_zh(), r.basis.rate_name_en());
        let counted_zh = format!(
            "花名册{}人,非培训对象{}人、计入他处{}人不计入",
            r.on_roster, r.not_plan_trainees, r.counted_elsewhere
        );
        let counted_en = format!(
            "{} on the roster; {} not 培训对象 and {} counted elsewhere are in neither term",
            r.on_roster, r.not_plan_trainees, r.counted_elsewhere
        );
        let rate_rule = match r.rate {
            Some(rate) => RuleResult::pass(
                "OUT-RATE",
                format!("项目整体{name_zh}:{}/{}={}({counted_zh})", r.positive, r.completed, rate.percent_display()),
                format!("project {name_en} {}/{} = {} ({counted_en})", r.positive, r.completed, rate.percent_display()),
            ),
            None => RuleResult::fail(
                "OUT-RATE",
                format!("无结业的{name_zh}评估对象,无法计算{name_zh},该类学员不予补贴({counted_zh})"),
                format!("no completed trainee judged by the {name_en}: no rate, their lines are unpaid ({counted_en})"),
            ),
        };
        let tier_rule = match (r.rate, r.tier_percent) {
            (Some(rate), Some(percent)) => {
                let table =
                    if r.basis == Basis::Certificate && policy.cert_tiers.is_some() { "cert_tiers" } else { "tiers" };
                Some(RuleResult::pass(
                    "SUBS-TIER",
                    format!("{name_zh}{}对应省级标准的{percent}%(70%、30%归入较高档,{table})", rate.percent_display()),
                    format!(
                        "{name_en} {} gives {percent}% of the standard (70% and 30% belong to the higher tier, {table})",
                        rate.percent_display()
                    ),
                ))
            }
            _ => None,
        };
        claim_rules.push(rate_rule.clone());
        if let Some(t) = &tier_rule {
            claim_rules.push(t.clone());
        }
        kind_rules.insert(r.basis.rate_name_en(), (rate_rule, tier_rule));
    }

    // Lines, one per roster entry.
    let mut lines = Vec::with_capacity(judged.len());
    for j in &judged {
        let person = &j.trainee.person;
        let mut rules = j.rules.clone();
        let person_stop = rules.iter().find(|r| !r.passed).map(|r| r.code.clone());
        // Every rule the line was judged by: the outcome rules of a counted trainee too, passed or
        // failed; a failed route does not stop a line, the verdict only builds the rate.
        if let Some(v) = &j.verdict {
            rules.extend(v.rules.iter().cloned());
        }
        rules.push(subs_eligible_rule(person_stop.as_deref()));
        let kind = rate_of(j.basis);
        if let Some((rate_rule, tier_rule)) = kind_rules.get(j.basis.rate_name_en()) {
            rules.push(rate_rule.clone());
            rules.extend(tier_rule.iter().cloned());
        }
        let kind_stop = kind.is_none_or(|k| k.rate.is_none()).then(|| "OUT-RATE".to_owned());
        let standard = standards.lookup(&project.occupation, project.level, j.class.first_day);
        rules.push(standard_rule(&project.occupation, project.level, j.class.first_day, standard));
        let fund = policy.fund_for(j.group);
        let uplift_percent = j.trainee.uplifts.iter().map(|u| u.percent).max();
        let stopped_by = claim_stop
            .as_ref()
            .map(|r| r.code.clone())
            .or(person_stop)
            .or(kind_stop)
            .or_else(|| standard.is_none().then(|| "SUBS-STANDARD".to_owned()));
        let paid = kind.and_then(|k| k.tier.zip(k.tier_percent));
        let (amount, multiplier) = match (&stopped_by, standard, paid) {
            (None, Some(s), Some(paid)) => line_amount(policy, s.standard_fen, paid, &j.trainee.uplifts, &mut rules),
            _ => (Money::ZERO, 0),
        };
        rules.push(RuleResult::pass(
            "SUBS-FUND",
            format!("按培训对象类别{}从{}列支", j.group.name_zh(), fund.name_zh()),
            format!("paid from {} for the group {}", fund.code(), j.group.code()),
        ));
        if let Some(stop) = &claim_stop {
            rules.insert(0, stop.clone());
        }
        lines.push(SubsidyLine {
            trainee_name: person.name.clone(),
            id_number_masked: mask(&person.id_number),
            class_id: j.class.id.clone(),
            group: j.group,
            fund,
            completed: j.completed,
            verdict: j.verdict.as_ref().map(|v| v.outcome.clone()),
            standard_fen: standard.map(|s| s.standard_fen),
            uplift_percent,
            multiplier_percent: multiplier,
            amount_fen: amount,
            stopped_by,
            rules,
            basis: Some(j.basis),
        });
    }
    let total = Money::checked_sum(lines.iter().map(|l| l.amount_fen))
        .ok_or_else(|| Error::Facts("the claim total overflows".to_owned()))?;
    // With one kind, the claim's rate and tier are that kind's; with two there is no one rate.
    let single = match rates.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    Ok(Decision {
        outcome: ClaimOutcome {
            project_id: project.id.clone(),
            basis,
            rate: single.and_then(|r| r.rate),
            tier_percent: single.and_then(|r| r.tier_percent),
            lines,
            total_fen: total,
            rates,
        },
        policy_version: policy.version.clone(),
        rules: claim_rules,
    })
}
