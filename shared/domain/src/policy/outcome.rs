//! Trainee outcomes (培训效果) from evidence: OUT-WINDOW, OUT-MONTHS, OUT-CERT and the four
//! employment routes OUT-EMP-CONTRACT, OUT-EMP-BUSINESS, OUT-EMP-SERVICE, OUT-EMP-REGISTRATION.
//!
//! In-service workers (and, under `rules_edition` 2, pre-hire trainees) are judged by
//! certificates, everyone else by employment (PROJ-BASIS). Under edition 2 months count inside
//! the outcome window only (OUT-MONTHS), a certificate in the same minor group counts (OUT-CERT),
//! an internship with its contract and accident insurance is employment time (OUT-EMP-CONTRACT),
//! and a platform match and a lump payment covering the named months' minimum wages count
//! (OUT-EMP-SERVICE), as the set's parameters say.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::policy::decision::{Decision, RuleResult};
pub use crate::policy::facts::Basis;
use crate::policy::facts::{
    CertificateKind, ClassFacts, ContractKind, OutcomeEvidence, PaymentChannel, ServiceRoute, YearMonth,
};
use crate::policy::set::{CertRelated, LumpPayment, MonthsCountedFrom, PolicySet};
use crate::policy::tables::MinimumWageTable;
use crate::{OccupationCode, TargetGroup, add_months};

/// The route that proved employment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Route {
    /// ① labour contract, insurance and wages.
    Contract,
    /// ② own business.
    Business,
    /// ③ labour service.
    Service,
    /// ④ employment registration or agency contract.
    Registration,
    /// A certificate (in-service workers).
    Certificate,
}

/// A trainee's outcome verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Whether the outcome counts for the project's rate.
    pub positive: bool,
    /// Judged by certificate or employment.
    pub basis: Basis,
    /// The route or certificate that proved it.
    pub route: Option<Route>,
}

/// OUT-WINDOW: the outcome window, from the class's last day to `outcome_window_months` after
/// it (DATE-MONTHS), both ends included.
pub fn out_window(policy: &PolicySet, class: &ClassFacts) -> (NaiveDate, NaiveDate) {
    (class.last_day, add_months(class.last_day, policy.outcome_window_months))
}

/// OUT-MONTHS: months of insurance, wages, operation or payment count to the end of the outcome
/// window, from the class's first day (v1) or from the day after its last day ("培训后6个月内",
/// v2, `months_counted_from`). A month counts when it overlaps the period.
pub fn out_months_period(policy: &PolicySet, class: &ClassFacts) -> (NaiveDate, NaiveDate) {
    let from = match policy.months_counted_from {
        MonthsCountedFrom::ClassFirstDay => class.first_day,
        MonthsCountedFrom::DayAfterLastDay => class.last_day.succ_opt().unwrap_or(class.last_day),
    };
    (from, out_window(policy, class).1)
}

fn months_in(months: impl Iterator<Item = YearMonth>, from: NaiveDate, to: NaiveDate) -> BTreeSet<YearMonth> {
    months.filter(|m| m.overlaps(from, to)).collect()
}

/// OUT-CERT: a newly obtained vocational qualification or skill-level certificate in a related
/// occupation (the project's own, or under `cert_related` = same minor group also one of its
/// 小类), above any level the trainee held, issued inside the window.
pub fn out_cert(
    policy: &PolicySet,
    class: &ClassFacts,
    occupation: &OccupationCode,
    evidence: &OutcomeEvidence,
) -> RuleResult {
    let (from, to) = out_window(policy, class);
    let related = |other: &OccupationCode| match policy.cert_related {
        CertRelated::SameOccupation => other == occupation,
        CertRelated::SameMinorGroup => other.same_minor_group(occupation),
    };
    let counting = evidence.certificates.iter().find(|c| {
        c.kind != CertificateKind::Other
            && related(&c.occupation)
            && evidence.prior_level.is_none_or(|held| c.level > held)
            && from <= c.issued_on
            && c.issued_on <= to
    });
    match counting {
        Some(c) if policy.cert_related == CertRelated::SameMinorGroup => RuleResult::pass(
            "OUT-CERT",
            format!(
                "{}取得{}{}证书(与{occupation}同属小类{}),在评估期{from}至{to}内",
                c.issued_on,
                c.occupation,
                c.level.name_zh(),
                occupation.minor_group()
            ),
            format!(
                "certificate {} at {} (minor group {} of {occupation}) issued {} inside the window {from} to {to}",
                c.occupation,
                c.level.code(),
                occupation.minor_group(),
                c.issued_on
            ),
        ),
        Some(c) => RuleResult::pass(
            "OUT-CERT",
            format!("{}取得{}证书,在评估期{from}至{to}内", c.issued_on, c.level.name_zh()),
            format!("certificate at {} issued {} inside the window {from} to {to}", c.level.code(), c.issued_on),
        ),
        None => RuleResult::fail(
            "OUT-CERT",
            format!("评估期{from}至{to}内无符合条件的新证书"),
            format!("no qualifying new certificate issued from {from} to {to}"),
        ),
    }
}

/// OUT-EMP-CONTRACT: route ①, a contract with an employer (an internship only with accident
/// insurance) and at least `contract_months` months of that employer's insurance and wages.
/// Under edition 2 the months of an internship or traineeship, shown by its contract and an
/// accident-insurance policy, count as employment time in place of insurance and wages
/// ("一并计入就业时间").
pub fn out_emp_contract(policy: &PolicySet, class: &ClassFacts, evidence: &OutcomeEvidence) -> RuleResult {
    if policy.v2_rules() {
        return out_emp_contract_with_internships(policy, class, evidence);
    }
    let (from, to) = out_months_period(policy, class);
    let need = usize::try_from(policy.contract_months).unwrap_or(usize::MAX);
    let mut best = (0usize, 0usize);
    for contract in &evidence.contracts {
        if contract.signed_on > to || (contract.kind == ContractKind::Internship && !contract.accident_insurance) {
            continue;
        }
        let of_employer = |ms: &[crate::policy::facts::EmployerMonth]| {
            months_in(ms.iter().filter(|m| m.employer == contract.employer).map(|m| m.month), from, to).len()
        };
        let insurance = of_employer(&evidence.insurance_months);
        let wages = of_employer(&evidence.wage_months);
        if insurance >= need && wages >= need {
            return RuleResult::pass(
                "OUT-EMP-CONTRACT",
                format!("与{}签订合同,社保{insurance}个月,工资{wages}个月", contract.employer),
                format!("contract with {}, {insurance} months of insurance and {wages} of wages", contract.employer),
            );
        }
        best = best.max((insurance.min(wages), insurance.max(wages)));
    }
    RuleResult::fail(
        "OUT-EMP-CONTRACT",
        format!("无劳动合同及同一单位社保、工资各{need}个月的证明(最多{}个月)", best.0),
        format!("no contract with {need} months of insurance and wages from the same employer (best {})", best.0),
    )
}

/// OUT-EMP-CONTRACT under edition 2: per employer, the months of its insurance (and of its
/// wages) together with the months of an internship with it that has accident insurance.
fn out_emp_contract_with_internships(policy: &PolicySet, class: &ClassFacts, evidence: &OutcomeEvidence) -> RuleResult {
    let (from, to) = out_months_period(policy, class);
    let need = usize::try_from(policy.contract_months).unwrap_or(usize::MAX);
    let counts = |c: &&crate::policy::facts::EmploymentContract| {
        c.signed_on <= to && (c.kind == ContractKind::Labour || c.accident_insurance)
    };
    let employers: BTreeSet<&str> = evidence.contracts.iter().filter(counts).map(|c| c.employer.as_str()).collect();
    let mut best = 0usize;
    for employer in employers {
        // The months an internship with this employer covers, inside the counting period.
        let internship: BTreeSet<YearMonth> = evidence
            .contracts
            .iter()
            .filter(|c| c.employer == employer && c.kind == ContractKind::Internship && c.accident_insurance)
            .flat_map(|c| {
                let start = c.signed_on.max(from);
                let end = c.ends_on.unwrap_or(to).min(to);
                months_between(start, end)
            })
            .collect();
        let of_employer = |ms: &[crate::policy::facts::EmployerMonth]| {
            let mut months = months_in(ms.iter().filter(|m| m.employer == employer).map(|m| m.month), from, to);
            months.extend(internship.iter().copied());
            months.len()
        };
        let insurance = of_employer(&evidence.insurance_months);
        let wages = of_employer(&evidence.wage_months);
        if insurance >= need && wages >= need {
            let (extra_zh, extra_en) = if internship.is_empty() {
                (String::new(), String::new())
            } else {
                (
                    format!("(其中实习或见习{}个月凭实习合同和意外保险计入就业时间)", internship.len()),
                    format!(
                        " ({} month(s) of internship counted as employment time, with its contract and accident \
                         insurance)",
                        internship.len()
                    ),
                )
            };
            return RuleResult::pass(
                "OUT-EMP-CONTRACT",
                format!("与{employer}签订合同,社保{insurance}个月,工资{wages}个月{extra_zh}"),
                format!("contract with {employer}, {insurance} months of insurance and {wages} of wages{extra_en}"),
            );
        }
        best = best.max(insurance.min(wages));
    }
    RuleResult::fail(
        "OUT-EMP-CONTRACT",
        format!("无劳动合同(或附意外保险的实习合同)及同一单位社保、工资各{need}个月的证明(最多{best}个月)"),
        format!(
            "no contract (or internship with accident insurance) with {need} months of insurance and wages from the \
             same employer (best {best})"
        ),
    )
}

/// The calendar months overlapping `[from, to]`, none when `to` is before `from`.
fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<YearMonth> {
    let mut months = Vec::new();
    let mut month = YearMonth::of(from);
    while from <= to && month.first_day() <= to {
        months.push(month);
        month = YearMonth::of(add_months(month.first_day(), 1));
    }
    months
}

/// OUT-EMP-BUSINESS: route ②, a registration with the trainee as legal representative,
/// registered during or after the training, with `business_months` months of real operation.
pub fn out_emp_business(policy: &PolicySet, class: &ClassFacts, evidence: &OutcomeEvidence) -> RuleResult {
    let (from, to) = out_months_period(policy, class);
    let need = usize::try_from(policy.business_months).unwrap_or(usize::MAX);
    for b in &evidence.businesses {
        // "登记注册时间在培训期间或培训后": from the class's first day, whenever months count from.
        if !b.legal_representative_is_trainee || b.registered_on < class.first_day || b.registered_on > to {
            continue;
        }
        let months =
            months_in(b.operation.iter().map(|o| o.month).filter(|m| m.last_day() >= b.registered_on), from, to).len();
        if months >= need {
            return RuleResult::pass(
                "OUT-EMP-BUSINESS",
                format!("{}登记创业,实际经营{months}个月", b.registered_on),
                format!("business registered {} with {months} months of operation", b.registered_on),
            );
        }
    }
    RuleResult::fail(
        "OUT-EMP-BUSINESS",
        format!("无本人为法人、培训期间或之后登记且经营{need}个月的证明"),
        format!("no business of the trainee's registered during or after training with {need} months of operation"),
    )
}

/// An exact non-negative amount of fen as a fraction (a lump payment split over its months).
#[derive(Clone, Copy)]
struct FenFraction {
    num: u128,
    den: u128,
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl FenFraction {
    fn add(self, num: u128, den: u128) -> Self {
        let n = self.num * den + num * self.den;
        let d = self.den * den;
        let g = gcd(n, d).max(1);
        Self { num: n / g, den: d / g }
    }
}

/// Where the work of an engagement is done: its recorded region, or the class's county when it is
/// not known (OUT-EMP-SERVICE).
fn work_region(
    engagement: &crate::policy::facts::ServiceEngagement,
    class: &ClassFacts,
) -> crate::policy::tables::WageRegion {
    engagement.work_region.clone().unwrap_or_else(|| class.region.into())
}

/// Months of a service engagement paid at least the county's monthly minimum wage, within the
/// counting period. A payment without a note pays for the month it was made in; a lump
/// payment pays for the months its note names: split equally (v1), or for all of them if it
/// covers the sum of their minimum wages (v2, `lump_payment`) (OUT-EMP-SERVICE).
fn paid_months(
    policy: &PolicySet,
    engagement: &crate::policy::facts::ServiceEngagement,
    class: &ClassFacts,
    wages: &MinimumWageTable,
    from: NaiveDate,
    to: NaiveDate,
) -> (usize, bool) {
    if policy.lump_payment == LumpPayment::CoversMinimumWages {
        return paid_months_covering(engagement, class, wages, from, to);
    }
    let mut per_month: BTreeMap<YearMonth, FenFraction> = BTreeMap::new();
    for p in &engagement.payments {
        if p.channel == PaymentChannel::Other || p.amount_fen.fen() <= 0 {
            continue;
        }
        let amount = u128::from(p.amount_fen.fen().unsigned_abs());
        let months: Vec<YearMonth> = if p.note_months.is_empty() {
            vec![YearMonth::of(p.paid_on)]
        } else {
            p.note_months.iter().copied().collect::<BTreeSet<_>>().into_iter().collect()
        };
        let n = months.len() as u128;
        for m in months {
            let entry = per_month.entry(m).or_insert(FenFraction { num: 0, den: 1 });
            *entry = entry.add(amount, n);
        }
    }
    let mut missing_wage = false;
    let count = per_month
        .iter()
        .filter(|(m, _)| m.overlaps(from, to) && m.overlaps(engagement.start, engagement.end))
        .filter(|(m, paid)| match wages.lookup(work_region(engagement, class), m.first_day()) {
            Some(min) => paid.num >= u128::from(min.fen().unsigned_abs()) * paid.den,
            None => {
                missing_wage = true;
                false
            }
        })
        .count();
    (count, missing_wage)
}

/// [`paid_months`] under `lump_payment` = covers the minimum wages: payments without a note add
/// up in their month; a lump payment counts for every month its note names if it covers the sum
/// of those months' minimum wages.
fn paid_months_covering(
    engagement: &crate::policy::facts::ServiceEngagement,
    class: &ClassFacts,
    wages: &MinimumWageTable,
    from: NaiveDate,
    to: NaiveDate,
) -> (usize, bool) {
    let mut missing_wage = false;
    let mut minimum = |m: YearMonth| {
        let wage = wages.lookup(work_region(engagement, class), m.first_day()).map(|w| i128::from(w.fen()));
        missing_wage |= wage.is_none();
        wage
    };
    let mut monthly: BTreeMap<YearMonth, i128> = BTreeMap::new();
    let mut covered: BTreeSet<YearMonth> = BTreeSet::new();
    for p in &engagement.payments {
        if p.channel == PaymentChannel::Other || p.amount_fen.fen() <= 0 {
            continue;
        }
        if p.note_months.is_empty() {
            *monthly.entry(YearMonth::of(p.paid_on)).or_default() += i128::from(p.amount_fen.fen());
            continue;
        }
        let named: BTreeSet<YearMonth> = p.note_months.iter().copied().collect();
        // OUT-EMP-SERVICE (v2): the lump covers the named months' minimum wages, each month's own.
        let needed: Option<i128> = named.iter().map(|m| minimum(*m)).sum();
        if needed.is_some_and(|n| i128::from(p.amount_fen.fen()) >= n) {
            covered.extend(named);
        }
    }
    let mut months: BTreeSet<YearMonth> = covered;
    for (m, paid) in monthly {
        if minimum(m).is_some_and(|min| paid >= min) {
            months.insert(m);
        }
    }
    let count = months.iter().filter(|m| m.overlaps(from, to) && m.overlaps(engagement.start, engagement.end)).count();
    (count, missing_wage)
}

fn service_rule(
    code: &str,
    routes: &[ServiceRoute],
    policy: &PolicySet,
    class: &ClassFacts,
    evidence: &OutcomeEvidence,
    wages: &MinimumWageTable,
) -> RuleResult {
    let (from, to) = out_months_period(policy, class);
    let need = usize::try_from(policy.service_months).unwrap_or(usize::MAX);
    let mut best = 0usize;
    let mut missing_wage = false;
    for e in evidence.services.iter().filter(|e| routes.contains(&e.route)) {
        // The service itself lasts at least `service_months` months (DATE-MONTHS).
        let lasts =
            add_months(e.start, policy.service_months).pred_opt().is_some_and(|last_needed| e.end >= last_needed);
        let (paid, missing) = paid_months(policy, e, class, wages, from, to);
        missing_wage |= missing;
        if lasts && paid >= need {
            return RuleResult::pass(
                code,
                format!("向{}提供劳务{}至{},{paid}个月报酬不低于最低工资", e.counterparty, e.start, e.end),
                format!(
                    "service to {} from {} to {}, {paid} months paid at least the minimum wage",
                    e.counterparty, e.start, e.end
                ),
            );
        }
        best = best.max(if lasts { paid } else { paid.min(need.saturating_sub(1)) });
    }
    let extra_zh = if missing_wage { ",部分月份无最低工资标准" } else { "" };
    let extra_en = if missing_wage { "; no minimum wage on record for some months" } else { "" };
    RuleResult::fail(
        code,
        format!("无持续{need}个月且每月报酬不低于最低工资的劳务证明(最多{best}个月){extra_zh}"),
        format!("no service lasting {need} months paid at least the minimum wage each month (best {best}){extra_en}"),
    )
}

/// OUT-EMP-SERVICE: route ③, a labour-service agreement (or, under edition 2, a match made
/// online or offline) lasting `service_months` months, paid through a traceable channel at least
/// the county's monthly minimum wage in each of `service_months` months; a lump payment counts
/// only for the months its note names.
pub fn out_emp_service(
    policy: &PolicySet,
    class: &ClassFacts,
    evidence: &OutcomeEvidence,
    wages: &MinimumWageTable,
) -> RuleResult {
    let routes: &[ServiceRoute] = if policy.v2_rules() {
        &[ServiceRoute::ServiceAgreement, ServiceRoute::PlatformMatch]
    } else {
        &[ServiceRoute::ServiceAgreement]
    };
    service_rule("OUT-EMP-SERVICE", routes, policy, class, evidence, wages)
}

/// OUT-EMP-REGISTRATION: route ④, an employment registration or agency contract, judged as
/// route ③.
pub fn out_emp_registration(
    policy: &PolicySet,
    class: &ClassFacts,
    evidence: &OutcomeEvidence,
    wages: &MinimumWageTable,
) -> RuleResult {
    service_rule(
        "OUT-EMP-REGISTRATION",
        &[ServiceRoute::EmploymentRegistration, ServiceRoute::AgencyContract],
        policy,
        class,
        evidence,
        wages,
    )
}

/// Judge one trainee's outcome from evidence. The rules list the window, the counting period
/// and every route tried; the verdict is positive when the certificate rule (in-service
/// workers, and pre-hire trainees under edition 2: [`PolicySet::basis_for`]) or any employment
/// route passed. `group` is the group the trainee is judged in (ELIG-GROUP).
pub fn evaluate_outcome(
    policy: &PolicySet,
    class: &ClassFacts,
    occupation: &OccupationCode,
    group: TargetGroup,
    evidence: &OutcomeEvidence,
    wages: &MinimumWageTable,
) -> Decision<Verdict> {
    let (wf, wt) = out_window(policy, class);
    let (mf, mt) = out_months_period(policy, class);
    let mut rules = vec![
        RuleResult::pass("OUT-WINDOW", format!("评估期{wf}至{wt}"), format!("outcome window {wf} to {wt}")),
        RuleResult::pass("OUT-MONTHS", format!("计算月份期间{mf}至{mt}"), format!("months counted from {mf} to {mt}")),
    ];
    let basis = policy.basis_for(group);
    let (positive, route) = match basis {
        Basis::Certificate => {
            let r = out_cert(policy, class, occupation, evidence);
            let passed = r.passed;
            rules.push(r);
            (passed, passed.then_some(Route::Certificate))
        }
        Basis::Employment => {
            let tried = [
                (Route::Contract, out_emp_contract(policy, class, evidence)),
                (Route::Business, out_emp_business(policy, class, evidence)),
                (Route::Service, out_emp_service(policy, class, evidence, wages)),
                (Route::Registration, out_emp_registration(policy, class, evidence, wages)),
            ];
            let route = tried.iter().find(|(_, r)| r.passed).map(|(route, _)| *route);
            rules.extend(tried.into_iter().map(|(_, r)| r));
            (route.is_some(), route)
        }
    };
    Decision { outcome: Verdict { positive, basis, route }, policy_version: policy.version.clone(), rules }
}
