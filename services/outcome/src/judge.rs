//! Judging, shared by the handlers: a trainee's verdict by the policy core's
//! `evaluate_outcome`, from the evidence that counts on a day, under the policy version of the
//! project's first class's filing, with the minimum-wage table; verdicts stored with their
//! history when they change; a project's rates by kind (PROJ-BASIS, OUT-RATE), the current ones
//! kept and each change of them written to the rate change feed in the same transaction; and the
//! rates on any day. The evidence a verdict used is the accepted evidence of the route that
//! succeeded. Handlers call this module; it calls no handler.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use qiancheng_api::outcome::*;
use qiancheng_api::{IntoProto as _, convert, types};
use qiancheng_domain::policy::facts::{
    BusinessRegistration, Certificate, CertificateKind as CoreCertificateKind, ClassFacts,
    ContractKind as CoreContractKind, EmployerMonth, EmploymentContract, OperationMonth, OperationProof as CoreProof,
    OutcomeEvidence, Payment, PaymentChannel as CorePaymentChannel, ServiceEngagement,
    ServiceRoute as CoreServiceRoute, YearMonth,
};
use qiancheng_domain::policy::outcome::{Basis as CoreBasis, Route as CoreRoute, evaluate_outcome};
use qiancheng_domain::policy::{MinimumWage, MinimumWageTable, PolicySet, WageRegion};
use qiancheng_domain::{Money, OccupationCode};
use qiancheng_platform::Error;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::write::Change;

use crate::Outcome;
use crate::store::evidence::EvidenceRecord;
use crate::store::rate::{ProjectRateRecord, RateChangeRecord, next_sequence};
use crate::store::trainee::TraineeRecord;
use crate::store::verdict::{VerdictHistoryRecord, VerdictRecord};
use crate::store::wage::MinimumWageRecord;
use crate::store::{decode_message, encode_message};

/// The proto basis of the core's.
pub fn basis_to_proto(basis: CoreBasis) -> Basis {
    match basis {
        CoreBasis::Employment => Basis::Employment,
        CoreBasis::Certificate => Basis::Certificate,
    }
}

fn route_to_proto(route: CoreRoute) -> Route {
    match route {
        CoreRoute::Contract => Route::Contract,
        CoreRoute::Business => Route::Business,
        CoreRoute::Service => Route::Service,
        CoreRoute::Registration => Route::Registration,
        CoreRoute::Certificate => Route::Certificate,
    }
}

fn route_of_rule(code: &str) -> Option<Route> {
    match code {
        "OUT-EMP-CONTRACT" => Some(Route::Contract),
        "OUT-EMP-BUSINESS" => Some(Route::Business),
        "OUT-EMP-SERVICE" => Some(Route::Service),
        "OUT-EMP-REGISTRATION" => Some(Route::Registration),
        "OUT-CERT" => Some(Route::Certificate),
        _ => None,
    }
}

fn months(raw: &[String]) -> Vec<YearMonth> {
    raw.iter().filter_map(|m| YearMonth::parse(m).ok()).collect()
}

fn date(value: Option<&types::Date>) -> Option<NaiveDate> {
    convert::date(value).ok().flatten()
}

/// The project's policy set: the version of its first class's filing (filed first, then first
/// day, then id), checked against the digest recorded with it.
pub async fn project_policy(
    executor: impl qiancheng_platform::db::Reader<'_>,
    project_id: &str,
) -> Result<Option<PolicySet>, Error> {
    let first = record::take::<TraineeRecord>(
        executor,
        Filter::new().eq("watched_trainee.project_id", project_id),
        "class_filed_on, class_first_day, class_id",
        1,
    )
    .await?;
    let Some(first) = first.first() else { return Ok(None) };
    let digest = Some(first.policy_digest.as_str()).filter(|d| !d.is_empty());
    PolicySet::recorded(&first.policy_version, digest)
        .map(Some)
        .map_err(|_| Error::corrupt("the policy version recorded at the project's first filing"))
}

/// The minimum-wage table and its version.
pub async fn wage_table(executor: impl qiancheng_platform::db::Reader<'_>) -> Result<(MinimumWageTable, i64), Error> {
    let rows = record::all::<MinimumWageRecord>(executor, Filter::new(), "id").await?;
    let version = rows.iter().map(|r| r.version).max().unwrap_or(0);
    let entries = rows
        .iter()
        .filter_map(|r| {
            Some(MinimumWage {
                region: WageRegion::parse(&r.region_code).ok()?,
                effective_from: r.effective_date,
                monthly_fen: Money::from_fen(r.monthly_fen),
            })
        })
        .collect();
    let table = MinimumWageTable::new(entries).map_err(|_| Error::corrupt("the minimum-wage table"))?;
    Ok((table, version))
}

/// The route an item of evidence belongs to, given the routes of the service engagements.
fn route_of_item(input: &EvidenceInput, engagements: &HashMap<String, Route>) -> Option<Route> {
    match EvidenceKind::try_from(input.kind).ok()? {
        EvidenceKind::Contract | EvidenceKind::Insurance | EvidenceKind::Wages => Some(Route::Contract),
        EvidenceKind::Business | EvidenceKind::Operation => Some(Route::Business),
        EvidenceKind::Service => input.service.as_ref().map(|s| service_route(s.route)),
        EvidenceKind::ServicePayment => {
            let id = input.service_payment.as_ref()?.engagement.strip_prefix("evidence/")?;
            engagements.get(id).copied()
        }
        EvidenceKind::Certificate => Some(Route::Certificate),
        EvidenceKind::PrehireContract | EvidenceKind::Unspecified => None,
    }
}

fn service_route(route: i32) -> Route {
    match ServiceRoute::try_from(route) {
        Ok(ServiceRoute::EmploymentRegistration | ServiceRoute::AgencyContract) => Route::Registration,
        _ => Route::Service,
    }
}

/// A trainee's class, their evidence as the core reads it, and each item's id with its route.
pub type Facts = (ClassFacts, OutcomeEvidence, Vec<(String, Route)>);

/// The facts of a trainee's outcome from the evidence counting on `day`, and the route each
/// item of it belongs to.
pub fn facts_of(trainee: &TraineeRecord, items: &[EvidenceRecord], day: NaiveDate) -> Result<Facts, Error> {
    let class = ClassFacts {
        id: trainee.class_id.clone(),
        region: trainee.region,
        first_day: trainee.class_first_day,
        last_day: trainee.class_last_day,
        hours: 0,
        filed_on: Some(trainee.class_filed_on),
        prehire: trainee.prehire,
    };
    let mut evidence = OutcomeEvidence { prior_level: trainee.prior_level, ..OutcomeEvidence::default() };
    let counting: Vec<(&EvidenceRecord, EvidenceInput)> = items
        .iter()
        .filter(|i| i.counts_on(day))
        .map(|i| Ok((i, decode_message::<EvidenceInput>(&i.detail, "an item of evidence")?)))
        .collect::<Result<_, Error>>()?;
    let mut engagements: HashMap<String, Route> = HashMap::new();
    let mut engagement_at: HashMap<String, usize> = HashMap::new();
    let mut operations: BTreeMap<String, Vec<OperationMonth>> = BTreeMap::new();
    for (item, input) in &counting {
        if let Some(s) = input.service.as_ref().filter(|_| input.kind == EvidenceKind::Service as i32) {
            engagements.insert(item.id.clone(), service_route(s.route));
            let (Some(start), Some(end)) = (date(s.start_on.as_ref()), date(s.end_on.as_ref())) else { continue };
            engagement_at.insert(item.id.clone(), evidence.services.len());
            evidence.services.push(ServiceEngagement {
                route: match ServiceRoute::try_from(s.route) {
                    Ok(ServiceRoute::PlatformMatch) => CoreServiceRoute::PlatformMatch,
                    Ok(ServiceRoute::EmploymentRegistration) => CoreServiceRoute::EmploymentRegistration,
                    Ok(ServiceRoute::AgencyContract) => CoreServiceRoute::AgencyContract,
                    _ => CoreServiceRoute::ServiceAgreement,
                },
                counterparty: s.counterparty.clone(),
                start,
                end,
                payments: Vec::new(),
                work_region: WageRegion::parse(&s.work_region_code).ok(),
            });
        }
        if let Some(o) = input.operation.as_ref().filter(|_| input.kind == EvidenceKind::Operation as i32) {
            let proof = match OperationProof::try_from(o.proof) {
                Ok(OperationProof::RevenueContract) => CoreProof::RevenueContract,
                Ok(OperationProof::Invoice) => CoreProof::Invoice,
                Ok(OperationProof::TaxPaid) => CoreProof::TaxPaid,
                Ok(OperationProof::StaffInsurance) => CoreProof::StaffInsurance,
                Ok(OperationProof::Financing) => CoreProof::Financing,
                _ => CoreProof::BankFlow,
            };
            operations
                .entry(o.credit_code.clone())
                .or_default()
                .extend(months(&o.months).into_iter().map(|month| OperationMonth { month, proof }));
        }
    }
    let mut routes = Vec::new();
    for (item, input) in &counting {
        if let Some(route) = route_of_item(input, &engagements) {
            routes.push((item.id.clone(), route));
        }
        match EvidenceKind::try_from(input.kind) {
            Ok(EvidenceKind::Contract) => {
                let Some(c) = &input.contract else { continue };
                let Some(signed_on) = date(c.signed_on.as_ref()) else { continue };
                evidence.contracts.push(EmploymentContract {
                    employer: c.employer_credit_code.clone(),
                    kind: if c.kind == ContractKind::Internship as i32 {
                        CoreContractKind::Internship
                    } else {
                        CoreContractKind::Labour
                    },
                    signed_on,
                    accident_insurance: c.accident_insurance,
                    ends_on: date(c.ends_on.as_ref()),
                });
            }
            Ok(EvidenceKind::Insurance) => {
                let Some(i) = &input.insurance else { continue };
                // 代缴: the months are the employer's on whose behalf an agency paid.
                evidence.insurance_months.extend(
                    months(&i.months)
                        .into_iter()
                        .map(|month| EmployerMonth { employer: i.employer_credit_code.clone(), month }),
                );
            }
            Ok(EvidenceKind::Wages) => {
                let Some(w) = &input.wages else { continue };
                // Wages count as the employer's when paid from its account, by its legal
                // representative or finance staff, or by the dispatching firm that employs the
                // trainee (劳务派遣); from anyone else they are not the employer's.
                if w.payer_relation == PayerRelation::Other as i32 {
                    continue;
                }
                evidence.wage_months.extend(
                    months(&w.months)
                        .into_iter()
                        .map(|month| EmployerMonth { employer: w.employer_credit_code.clone(), month }),
                );
            }
            Ok(EvidenceKind::Business) => {
                let Some(b) = &input.business else { continue };
                let Some(registered_on) = date(b.registered_on.as_ref()) else { continue };
                evidence.businesses.push(BusinessRegistration {
                    registered_on,
                    legal_representative_is_trainee: b.trainee_role != BusinessRole::Other as i32,
                    operation: operations.get(&b.credit_code).cloned().unwrap_or_default(),
                });
            }
            Ok(EvidenceKind::ServicePayment) => {
                let Some(p) = &input.service_payment else { continue };
                let Some(at) = p.engagement.strip_prefix("evidence/").and_then(|id| engagement_at.get(id)) else {
                    continue;
                };
                let Some(paid_on) = date(p.paid_on.as_ref()) else { continue };
                evidence.services[*at].payments.push(Payment {
                    paid_on,
                    amount_fen: Money::from_fen(p.amount_fen),
                    channel: match PaymentChannel::try_from(p.channel) {
                        Ok(PaymentChannel::CorporateAccount) => CorePaymentChannel::CorporateAccount,
                        Ok(PaymentChannel::Bank) => CorePaymentChannel::Bank,
                        Ok(PaymentChannel::Alipay) => CorePaymentChannel::Alipay,
                        Ok(PaymentChannel::Wechat) => CorePaymentChannel::Wechat,
                        _ => CorePaymentChannel::Other,
                    },
                    note_months: months(&p.note_months),
                });
            }
            Ok(EvidenceKind::Certificate) => {
                let Some(c) = &input.certificate else { continue };
                let (Ok(occupation), Ok(Some(level)), Some(issued_on)) = (
                    OccupationCode::parse(&c.occupation_code),
                    convert::skill_level(c.level),
                    date(c.issued_on.as_ref()),
                ) else {
                    continue;
                };
                evidence.certificates.push(Certificate {
                    kind: match CertificateKind::try_from(c.kind) {
                        Ok(CertificateKind::VocationalQualification) => CoreCertificateKind::VocationalQualification,
                        Ok(CertificateKind::SkillLevel) => CoreCertificateKind::SkillLevel,
                        _ => CoreCertificateKind::Other,
                    },
                    number: c.number.clone(),
                    occupation,
                    level,
                    issued_on,
                });
            }
            _ => {}
        }
    }
    Ok((class, evidence, routes))
}

/// A trainee's verdict from `items` counting on `day` (revision, cause and time left for the
/// caller).
pub fn judge(
    policy: &PolicySet,
    wages: &(MinimumWageTable, i64),
    trainee: &TraineeRecord,
    items: &[EvidenceRecord],
    day: NaiveDate,
) -> Result<Verdict, Error> {
    let (class, evidence, routes) = facts_of(trainee, items, day)?;
    let occupation =
        OccupationCode::parse(&trainee.occupation_code).map_err(|_| Error::corrupt("the project's occupation code"))?;
    let decision = evaluate_outcome(policy, &class, &occupation, trainee.judged_group, &evidence, &wages.0);
    let route = decision.outcome.route.map(route_to_proto);
    let used: Vec<String> = match route {
        Some(route) => routes.iter().filter(|(_, r)| *r == route).map(|(id, _)| format!("evidence/{id}")).collect(),
        None => Vec::new(),
    };
    let tried = decision
        .rules
        .iter()
        .filter_map(|r| {
            route_of_rule(&r.code).map(|route| RouteTried {
                route: route as i32,
                rule: r.code.clone(),
                passed: r.passed,
                reason_zh: r.reason_zh.clone(),
                reason_en: r.reason_en.clone(),
            })
        })
        .collect();
    Ok(Verdict {
        name: format!("verdicts/{}", trainee.id),
        trainee: trainee.name(),
        project: format!("projects/{}", trainee.project_id),
        class: format!("classes/{}", trainee.class_id),
        positive: decision.outcome.positive,
        basis: basis_to_proto(decision.outcome.basis) as i32,
        route: route.map_or(0, |r| r as i32),
        evidence: used,
        routes: tried,
        policy_version: decision.policy_version.clone(),
        decision: Some(types::Decision {
            outcome: decision.outcome.positive,
            policy_version: decision.policy_version.clone(),
            policy_digest: policy.digest(),
            rules: decision
                .rules
                .iter()
                .map(|r| types::RuleResult {
                    code: r.code.clone(),
                    passed: r.passed,
                    reason_zh: r.reason_zh.clone(),
                    reason_en: r.reason_en.clone(),
                })
                .collect(),
            decided_micros: 0,
        }),
        minimum_wage_version: wages.1,
        revision: 0,
        cause: String::new(),
        decided_micros: 0,
        exchange: Vec::new(),
    })
}

/// The part of a verdict that says what was decided (not when, nor why it was looked at again).
fn substance(v: &Verdict) -> Verdict {
    let mut v = v.clone();
    v.revision = 0;
    v.cause.clear();
    v.decided_micros = 0;
    v.minimum_wage_version = 0;
    if let Some(d) = v.decision.as_mut() {
        d.decided_micros = 0;
    }
    v
}

/// The verdicts of one recompute to write: new ones and their history in multi-row inserts,
/// changed ones row by row (each checked against the revision read).
#[derive(Default)]
struct VerdictWrites {
    new: Vec<VerdictRecord>,
    changed: Vec<VerdictRecord>,
    history: Vec<VerdictHistoryRecord>,
}

impl VerdictWrites {
    /// Notes `fresh` as the trainee's verdict when it differs from `stored`, keeping the
    /// revision in the history. Returns whether it changed.
    fn note(
        &mut self,
        change: &mut Change,
        trainee: &TraineeRecord,
        stored: Option<&VerdictRecord>,
        mut fresh: Verdict,
        cause: &str,
    ) -> Result<bool, Error> {
        if let Some(stored) = stored {
            let before: Verdict = decode_message(&stored.body, "a verdict")?;
            if substance(&before) == substance(&fresh) {
                return Ok(false);
            }
        }
        let now = qiancheng_platform::time::now_micros();
        let mut stamp = stored.map(|s| s.stamp).unwrap_or_default();
        if stored.is_some() {
            stamp.touch();
        }
        fresh.revision = stamp.revision;
        fresh.cause = cause.to_owned();
        fresh.decided_micros = now;
        if let Some(d) = fresh.decision.as_mut() {
            d.decided_micros = now;
        }
        let record = VerdictRecord {
            trainee_id: trainee.id.clone(),
            project_id: trainee.project_id.clone(),
            class_id: trainee.class_id.clone(),
            region: trainee.region,
            provider_credit_code: trainee.provider_credit_code.clone(),
            positive: fresh.positive,
            body: encode_message(&fresh),
            stamp,
        };
        self.history.push(VerdictHistoryRecord {
            id: format!("{}/{:010}", trainee.id, fresh.revision),
            trainee_id: trainee.id.clone(),
            revision: fresh.revision,
            body: record.body.clone(),
            decided_micros: now,
        });
        if stored.is_some() {
            self.changed.push(record);
        } else {
            self.new.push(record);
        }
        change.audit_under(
            &fresh.policy_version,
            "verdict",
            fresh.name.clone(),
            serde_json::json!({ "positive": fresh.positive, "route": fresh.route, "revision": fresh.revision, "cause": cause }),
        );
        Ok(true)
    }

    async fn write(self, change: &mut Change) -> Result<(), Error> {
        for record in &self.changed {
            record::update(&mut change.tx, record).await?;
        }
        for chunk in self.new.chunks(500) {
            record::insert_many(&mut change.tx, chunk).await?;
        }
        for chunk in self.history.chunks(500) {
            record::insert_many(&mut change.tx, chunk).await?;
        }
        Ok(())
    }
}

/// The turn changes of verdicts and rates take, one at a time, until they commit.
const RATE_TURN: &str = "outcome/rate_change";

/// Recomputes the verdicts of `trainees` (all of one project) from their evidence today, and
/// the project's rates; `cause` says why. Evidence and stored verdicts are read, and new
/// verdicts written, a chunk of trainees at a time.
async fn recompute(
    change: &mut Change,
    outcome: &Outcome,
    project_id: &str,
    trainees: &[TraineeRecord],
    cause: &str,
) -> Result<(), Error> {
    let Some(policy) = project_policy(&mut *change.tx, project_id).await? else { return Ok(()) };
    let wages = wage_table(&mut *change.tx).await?;
    let today = outcome.today();
    let ids: Vec<&str> = trainees.iter().map(|t| t.id.as_str()).collect();
    let mut items_of: HashMap<String, Vec<EvidenceRecord>> = HashMap::new();
    let mut stored: HashMap<String, VerdictRecord> = HashMap::new();
    for batch in ids.chunks(500) {
        let filter = Filter::new().among("evidence.trainee_id", batch.iter().copied());
        for item in record::all::<EvidenceRecord>(&mut *change.tx, filter, "id").await? {
            items_of.entry(item.trainee_id.clone()).or_default().push(item);
        }
        let filter = Filter::new().among("verdict.trainee_id", batch.iter().copied());
        for verdict in record::all::<VerdictRecord>(&mut *change.tx, filter, "trainee_id").await? {
            stored.insert(verdict.trainee_id.clone(), verdict);
        }
    }
    let mut writes = VerdictWrites::default();
    for trainee in trainees {
        let items = items_of.remove(&trainee.id).unwrap_or_default();
        let fresh = judge(&policy, &wages, trainee, &items, today)?;
        writes.note(change, trainee, stored.get(&trainee.id), fresh, cause)?;
    }
    writes.write(change).await?;
    write_rates(change, &policy, project_id, cause).await
}

/// Takes the turn of verdicts and rates before a recompute's first read, its trainees included:
/// verdicts are judged one change at a time, from before the first read to the commit (the turn
/// every change takes anyway to write the rates, taken first). On PostgreSQL each statement
/// reads what is committed when it starts. Without the turn, a change that read the evidence
/// before an evidence write committed, and the stored verdicts after it, would overwrite the
/// verdict judged from the newer evidence with one judged from the older; and one that read a
/// trainee before the follower committed a refreshed class would judge against the old window.
async fn take_turn(change: &mut Change) -> Result<(), Error> {
    change.serialize_on(RATE_TURN).await
}

/// Recomputes every verdict of a project and its rates.
pub async fn recompute_project(
    change: &mut Change,
    outcome: &Outcome,
    project_id: &str,
    cause: &str,
) -> Result<(), Error> {
    take_turn(change).await?;
    let trainees =
        record::all::<TraineeRecord>(&mut *change.tx, Filter::new().eq("watched_trainee.project_id", project_id), "id")
            .await?;
    recompute(change, outcome, project_id, &trainees, cause).await
}

/// Recomputes one trainee's verdict and their project's rates.
pub async fn recompute_trainee(
    change: &mut Change,
    outcome: &Outcome,
    trainee_id: &str,
    cause: &str,
) -> Result<(), Error> {
    take_turn(change).await?;
    let Some(trainee) = record::find::<TraineeRecord>(&mut *change.tx, trainee_id).await? else { return Ok(()) };
    let project_id = trainee.project_id.clone();
    recompute(change, outcome, &project_id, &[trainee], cause).await
}

/// The stored verdict of a trainee, as the API shows it.
pub async fn current(
    executor: impl qiancheng_platform::db::Reader<'_>,
    trainee_id: &str,
) -> Result<Option<Verdict>, Error> {
    match record::find::<VerdictRecord>(executor, trainee_id).await? {
        Some(r) => Ok(Some(decode_message(&r.body, "a verdict")?)),
        None => Ok(None),
    }
}

fn basis_code(basis: CoreBasis) -> &'static str {
    match basis {
        CoreBasis::Employment => "EMPLOYMENT",
        CoreBasis::Certificate => "CERTIFICATE",
    }
}

/// Counted trainees and positive verdicts by kind: `(basis, numerator, denominator)`, kinds with
/// nobody counted left out.
pub fn tally(
    policy: &PolicySet,
    trainees: &[TraineeRecord],
    positive: impl Fn(&TraineeRecord) -> bool,
) -> Vec<(CoreBasis, i64, i64)> {
    let mut by: BTreeMap<&'static str, (CoreBasis, i64, i64)> = BTreeMap::new();
    for t in trainees.iter().filter(|t| t.counted()) {
        let basis = policy.basis_for(t.judged_group);
        let entry = by.entry(basis_code(basis)).or_insert((basis, 0, 0));
        entry.2 += 1;
        if positive(t) {
            entry.1 += 1;
        }
    }
    let mut rates: Vec<(CoreBasis, i64, i64)> = by.into_values().collect();
    rates.sort_by_key(|(b, _, _)| if *b == CoreBasis::Employment { 0 } else { 1 });
    rates
}

/// Recomputes a project's current rates from its stored verdicts; each rate that changed is
/// stored and written to the feed in this transaction. Called by [`recompute`] only, under the
/// turn it took first ([`RATE_TURN`]), so writers of the feed take turns.
async fn write_rates(change: &mut Change, policy: &PolicySet, project_id: &str, cause: &str) -> Result<(), Error> {
    let trainees =
        record::all::<TraineeRecord>(&mut *change.tx, Filter::new().eq("watched_trainee.project_id", project_id), "id")
            .await?;
    let positive: std::collections::HashSet<String> = record::all::<VerdictRecord>(
        &mut *change.tx,
        Filter::new().eq("verdict.project_id", project_id).eq("verdict.positive", 1_i64),
        "trainee_id",
    )
    .await?
    .into_iter()
    .map(|v| v.trainee_id)
    .collect();
    let fresh = tally(policy, &trainees, |t| positive.contains(&t.id));
    let stored: HashMap<String, ProjectRateRecord> = record::all::<ProjectRateRecord>(
        &mut *change.tx,
        Filter::new().eq("project_rate.project_id", project_id),
        "id",
    )
    .await?
    .into_iter()
    .map(|r| (r.basis.clone(), r))
    .collect();
    let mut kinds: Vec<(String, i64, i64)> =
        fresh.iter().map(|(b, n, d)| (basis_code(*b).to_owned(), *n, *d)).collect();
    // A kind nobody counts in any more drops to 0/0.
    for basis in stored.keys() {
        if !kinds.iter().any(|(b, _, _)| b == basis) {
            kinds.push((basis.clone(), 0, 0));
        }
    }
    for (basis, numerator, denominator) in kinds {
        let before = stored.get(&basis);
        if before.is_some_and(|r| r.numerator == numerator && r.denominator == denominator) {
            continue;
        }
        let sequence = next_sequence(&mut change.tx).await?;
        let row = RateChangeRecord {
            sequence,
            project_id: project_id.to_owned(),
            basis: basis.clone(),
            numerator,
            denominator,
            previous_numerator: before.map_or(0, |r| r.numerator),
            previous_denominator: before.map_or(0, |r| r.denominator),
            policy_version: policy.version.clone(),
            cause: cause.to_owned(),
            changed_micros: qiancheng_platform::time::now_micros(),
        };
        record::insert(&mut change.tx, &row).await?;
        let current = ProjectRateRecord {
            id: format!("{project_id}/{basis}"),
            project_id: project_id.to_owned(),
            basis: basis.clone(),
            numerator,
            denominator,
            change_sequence: sequence,
        };
        if before.is_some() {
            sqlx_update_rate(change, &current).await?;
        } else {
            record::insert(&mut change.tx, &current).await?;
        }
        change.audit_under(
            &policy.version,
            "rate",
            format!("projects/{project_id}"),
            serde_json::json!({ "basis": basis, "numerator": numerator, "denominator": denominator, "sequence": sequence }),
        );
    }
    Ok(())
}

/// A current rate is replaced (it has no stamp: the feed is its history).
async fn sqlx_update_rate(change: &mut Change, rate: &ProjectRateRecord) -> Result<(), Error> {
    let stale = record::find::<ProjectRateRecord>(&mut *change.tx, rate.id.as_str()).await?;
    if let Some(stale) = stale {
        record::delete(&mut change.tx, &stale).await?;
    }
    record::insert(&mut change.tx, rate).await
}

/// A project's rates on `day`, computed from the evidence that counted on that day.
pub async fn rates_on(s: &Outcome, project_id: &str, day: NaiveDate) -> Result<Option<GetProjectRatesResponse>, Error> {
    let pool = s.db.pool();
    let Some(policy) = project_policy(pool, project_id).await? else { return Ok(None) };
    let wages = wage_table(pool).await?;
    let trainees =
        record::all::<TraineeRecord>(pool, Filter::new().eq("watched_trainee.project_id", project_id), "id").await?;
    let mut items_of: HashMap<String, Vec<EvidenceRecord>> = HashMap::new();
    for item in record::all::<EvidenceRecord>(pool, Filter::new().eq("evidence.project_id", project_id), "id").await? {
        items_of.entry(item.trainee_id.clone()).or_default().push(item);
    }
    let mut positive = std::collections::HashSet::new();
    for t in trainees.iter().filter(|t| t.counted()) {
        let verdict = judge(&policy, &wages, t, items_of.get(&t.id).map_or(&[][..], Vec::as_slice), day)?;
        if verdict.positive {
            positive.insert(t.id.clone());
        }
    }
    let rates = tally(&policy, &trainees, |t| positive.contains(&t.id))
        .into_iter()
        .map(|(b, numerator, denominator)| Rate { basis: basis_to_proto(b) as i32, numerator, denominator })
        .collect();
    let mut classes: BTreeMap<String, RateClass> = BTreeMap::new();
    let mut excluded: BTreeMap<String, i64> = BTreeMap::new();
    let mut last_window = None;
    for t in &trainees {
        let window_last = qiancheng_domain::add_months(t.class_last_day, policy.outcome_window_months);
        last_window = last_window.max(Some(window_last));
        classes.entry(t.class_id.clone()).or_insert_with(|| RateClass {
            class: format!("classes/{}", t.class_id),
            policy_version: t.policy_version.clone(),
            other_policy_version: t.policy_version != policy.version,
            window_last_date: Some(convert::date_to_proto(window_last)),
        });
        if !t.counted() {
            *excluded.entry(t.excluded_by.clone()).or_default() += 1;
        }
    }
    let change_sequence =
        record::all::<ProjectRateRecord>(pool, Filter::new().eq("project_rate.project_id", project_id), "id")
            .await?
            .iter()
            .map(|r| r.change_sequence)
            .max()
            .unwrap_or(0);
    Ok(Some(GetProjectRatesResponse {
        project: format!("projects/{project_id}"),
        as_of: Some(convert::date_to_proto(day)),
        rates,
        policy_version: policy.version.clone(),
        classes: classes.into_values().collect(),
        excluded: excluded.into_iter().map(|(rule, count)| Exclusion { rule, count }).collect(),
        last_window_date: last_window.into_proto(),
        change_sequence,
    }))
}
