//! Claims (补贴申请, 附件4): a provider files one for a project with the bureau where its classes
//! were filed. The service gathers, before any transaction, what its peers hold (the project
//! from selection; the real-name roster, classes and results from supervision; the project's
//! acceptance and the trainees' outcome evidence from outcome), adds the standards table and the
//! trainees' uplifts it keeps, stores that snapshot with the time and the policy set the classes
//! were filed under, and lets the policy core calculate every line (SUBS-DEADLINE,
//! SUBS-MATERIALS, every rule of a line, the rates, tiers, uplift, cap and rounding). The
//! snapshot exports as the facts format of docs/policy-facts.md, so a replay gives the same fen.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use qiancheng_api::subsidy::*;
use qiancheng_api::supervision::{CertificateKind as WireCertificateKind, ProjectTrainee};
use qiancheng_api::types::PersonRef;
use qiancheng_api::{FromProto as _, IntoProto as _};
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::claim::evaluate_claim;
use qiancheng_domain::policy::facts::{
    Certificate, CertificateKind, ClassFacts, KeyProject, KeyProjectLibrary, LocalBasis, LocalBasisKind, TraineeFacts,
};
use qiancheng_domain::policy::replay::ReplayFacts;
use qiancheng_domain::policy::subsidy::{
    ClaimFacts, ClaimMaterial as Material, ClaimOutcome, ClaimTrainee, ProjectFacts, Uplift, subs_deadline,
};
use qiancheng_domain::policy::tables::{MinimumWageTable, SubsidyStandardTable};
use qiancheng_domain::{OccupationCode, SkillLevel, TargetGroup};
use qiancheng_platform::auth::Role;
use qiancheng_platform::call::id_of;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::pii::mask_name;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::access;
use crate::peer::{OutcomeFacts, ProjectView};
use crate::store::claim::{self as store, Calculation, ClaimRecord};
use crate::store::{standard, uplift};

/// A material on the wire.
fn material_of(wire: i32) -> Option<Material> {
    match ClaimMaterial::try_from(wire).ok()? {
        ClaimMaterial::Annex4 => Some(Material::Annex4),
        ClaimMaterial::Ledger => Some(Material::Ledger),
        ClaimMaterial::CertificateEvidence => Some(Material::CertificateEvidence),
        ClaimMaterial::EmploymentEvidence => Some(Material::EmploymentEvidence),
        ClaimMaterial::Unspecified => None,
    }
}

/// A material as the wire shows it.
fn material_to_wire(material: Material) -> i32 {
    let wire = match material {
        Material::Annex4 => ClaimMaterial::Annex4,
        Material::Ledger => ClaimMaterial::Ledger,
        Material::CertificateEvidence => ClaimMaterial::CertificateEvidence,
        Material::EmploymentEvidence => ClaimMaterial::EmploymentEvidence,
    };
    wire as i32
}

/// The id of a resource name's last segment (`classes/C1` → `C1`).
fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A date supervision sent, which must be there.
fn told_date(date: Option<&qiancheng_api::types::Date>, what: &str) -> Result<NaiveDate, Error> {
    NaiveDate::required(date).map_err(|_| Error::corrupt(format!("supervision sent a trainee without a valid {what}")))
}

/// What the snapshot is made of, before it is judged.
struct Gathered {
    facts: ClaimFacts,
    policy: PolicySet,
    standards: Vec<qiancheng_domain::policy::tables::SubsidyStandard>,
    accepted_on: Option<NaiveDate>,
}

/// The claim's facts from what the peers said and the tables the service keeps. Trainees removed
/// from the roster before it locked are not on the claim; everyone else is, each with a line.
fn gather(
    project: &ProjectView,
    roster: &[ProjectTrainee],
    outcome: &OutcomeFacts,
    standards: &[standard::StandardRecord],
    uplifts: &[(String, String, u32, NaiveDate, i32)],
    filed_on: NaiveDate,
    materials: Vec<Material>,
) -> Result<Gathered, Error> {
    let on_roster: Vec<&ProjectTrainee> = roster.iter().filter(|t| t.removed_in_version == 0).collect();
    let Some(first) = on_roster.first() else {
        return Err(Error::precondition(
            "CLAIM_NO_ROSTER",
            "the project has no trainee on a class's roster to claim for",
        ));
    };
    // Decided under the set the classes were filed under (PolicySet::recorded).
    let policy =
        PolicySet::recorded(&first.policy_version, Some(first.policy_digest.as_str()).filter(|d| !d.is_empty()))
            .map_err(|e| Error::corrupt(format!("the classes' policy set: {e}")))?;
    let mut classes: BTreeMap<String, ClassFacts> = BTreeMap::new();
    let mut trainees = Vec::with_capacity(on_roster.len());
    let mut key_project = None;
    for t in &on_roster {
        let class_id = last_segment(&t.class).to_owned();
        let first_day = told_date(t.class_first_day.as_ref(), "class first day")?;
        let prehire = t.key_project.is_some() || !t.prehire_enterprise.is_empty();
        if let Some(k) = &t.key_project {
            key_project = Some(KeyProject {
                enterprise: k.enterprise.clone(),
                library: match k.library {
                    1 => Some(KeyProjectLibrary::City),
                    2 => Some(KeyProjectLibrary::County),
                    _ => None,
                },
                manufacturing: k.manufacturing,
                expected_production_on: NaiveDate::required(k.expected_production_on.as_ref()).unwrap_or(first_day),
            });
        }
        classes.entry(class_id.clone()).or_insert(ClassFacts {
            id: class_id.clone(),
            region: project.training_region,
            first_day,
            last_day: told_date(t.class_last_day.as_ref(), "class last day")?,
            hours: u32::try_from(t.class_hours).unwrap_or(0),
            filed_on: NaiveDate::from_proto(t.class_filed_on.as_ref()).ok().flatten(),
            prehire,
        });
        let person = t.person.clone().unwrap_or_default();
        let local_basis = LocalBasisKind::from_proto(t.local_basis)
            .ok()
            .flatten()
            .map(|kind| LocalBasis { kind, evidence: t.local_basis_evidence.clone() });
        let mut evidence = outcome.evidence.get(&t.name).cloned().unwrap_or_default();
        for e in &t.evaluations {
            let kind = match WireCertificateKind::try_from(e.kind) {
                Ok(WireCertificateKind::VocationalQualification) => CertificateKind::VocationalQualification,
                Ok(WireCertificateKind::SkillLevel) => CertificateKind::SkillLevel,
                _ => CertificateKind::Other,
            };
            let (Ok(occupation), Ok(level), Ok(issued_on)) = (
                OccupationCode::parse(&e.occupation_code),
                SkillLevel::required(e.skill_level),
                NaiveDate::required(e.issued_on.as_ref()),
            ) else {
                continue;
            };
            evidence.certificates.push(Certificate {
                kind,
                number: e.certificate_number.clone(),
                occupation,
                level,
                issued_on,
            });
        }
        if evidence.prior_level.is_none() {
            evidence.prior_level = SkillLevel::from_proto(t.skill_level).ok().flatten();
        }
        let completion_rules = t.completion.as_ref().map(|d| d.rules.as_slice()).unwrap_or_default();
        let passed = |code: &str| completion_rules.iter().any(|r| r.code == code && r.passed);
        let trainee_uplifts = uplifts
            .iter()
            .filter(|(trainee, _, _, from, _)| *trainee == t.name && *from <= first_day)
            .map(|(_, code, percent, _, version)| Uplift { name: format!("{code}-v{version}"), percent: *percent })
            .collect();
        trainees.push(ClaimTrainee {
            class_id,
            person: TraineeFacts {
                name: person.name.clone(),
                id_number: person.id_number.clone(),
                group: TargetGroup::from_proto(t.target_group).ok().flatten().unwrap_or(TargetGroup::OtherEligible),
                budget_paid: t.budget_paid,
                roster_added_on: NaiveDate::from_proto(t.added_on.as_ref()).ok().flatten(),
                other_classes: Vec::new(),
                prior_subsidies: Vec::new(),
                contract_signed_on: outcome
                    .prehire_signed_on
                    .get(&format!("trainees/{}", last_segment(&t.name)))
                    .copied(),
                local_basis,
                supported_groups: Vec::new(),
                employed_on_first_day: t.in_service,
            },
            attended_hours: u32::try_from(t.attended_hours).unwrap_or(0),
            assessment_passed: t.completed || passed("CLASS-COMPLETION"),
            skill_evaluation_passed: false,
            evidence,
            uplifts: trainee_uplifts,
            verdict: outcome.verdicts.get(&t.name).cloned(),
        });
    }
    let rows = standard::with_ends(standards);
    let standards = rows.into_iter().map(|(row, end)| row.to_policy(end)).collect();
    Ok(Gathered {
        facts: ClaimFacts {
            project: ProjectFacts {
                id: last_segment(&project.name).to_owned(),
                name: project.name.clone(),
                occupation: project.occupation.clone(),
                level: project.level,
                provider_disqualified_on: None,
                key_project,
            },
            classes: classes.into_values().collect(),
            trainees,
            filed_on,
            materials,
        },
        policy,
        standards,
        accepted_on: outcome.accepted_on,
    })
}

/// The calculation with names masked and ID numbers left masked, as it is stored and shown.
fn masked(mut outcome: ClaimOutcome) -> ClaimOutcome {
    for line in &mut outcome.lines {
        line.trainee_name = mask_name(&line.trainee_name);
    }
    outcome
}

/// The claim as the API shows it, with its lines when `with_lines`. Trainees are named by
/// their roster entry; the person is masked (张*三) and the ID number hidden.
fn shown(record: &ClaimRecord, trainee_names: &[String], with_lines: bool) -> Claim {
    let outcome = record.outcome.0.as_ref();
    let rates = outcome
        .map(|o| {
            o.rates
                .iter()
                .map(|r| KindRate {
                    basis: format!("{:?}", r.basis).to_uppercase(),
                    completed: i64::try_from(r.completed).unwrap_or(i64::MAX),
                    positive: i64::try_from(r.positive).unwrap_or(i64::MAX),
                    tier_percent: r.tier_percent.map_or(0, |p| i32::try_from(p).unwrap_or(i32::MAX)),
                })
                .collect()
        })
        .unwrap_or_default();
    let lines = if with_lines {
        outcome
            .map(|o| {
                o.lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| ClaimLine {
                        trainee: trainee_names.get(i).cloned().unwrap_or_default(),
                        class: format!("classes/{}", l.class_id),
                        person: Some(PersonRef { name: l.trainee_name.clone(), ..Default::default() }),
                        group: l.group.into_proto(),
                        fund: serde_json::to_value(l.fund)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        completed: l.completed,
                        standard_fen: l.standard_fen.map_or(0, |m| m.fen()),
                        uplift_percent: l.uplift_percent.map_or(0, |p| i32::try_from(p).unwrap_or(i32::MAX)),
                        multiplier_percent: i32::try_from(l.multiplier_percent).unwrap_or(i32::MAX),
                        amount_fen: l.amount_fen.fen(),
                        stopped_by: l.stopped_by.clone().unwrap_or_default(),
                        rules: l.rules.iter().map(|r| r.into_proto()).collect(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Claim {
        name: record.name(),
        project: record.project(),
        materials: record.materials.iter().copied().map(material_to_wire).collect(),
        provider_credit_code: record.provider_credit_code.clone(),
        region_code: record.region.code().to_owned(),
        state: ClaimState::Filed as i32,
        filed_on: Some(record.filed_on.into_proto()),
        policy_version: record.policy_version.clone(),
        policy_digest: record.policy_digest.clone(),
        snapshot_time_micros: record.snapshot_micros,
        project_accepted_on: record.project_accepted_on.into_proto(),
        rates,
        lines,
        total_fen: record.total_fen,
        rules: Vec::new(),
        created_by: record.created_by.clone(),
        create_time_micros: record.stamp.create_time_micros,
        update_time_micros: record.stamp.update_time_micros,
        etag: record.stamp.etag(),
    }
}

/// FileClaim.
pub async fn file_claim(s: &Subsidy, call: Call<FileClaimRequest>) -> Result<FileClaimResponse, Error> {
    let provider = call.principal.own_org(Role::Provider)?.to_owned();
    let input = call.message.claim.clone().unwrap_or_default();
    let mut materials = Vec::new();
    for (i, wire) in input.materials.iter().enumerate() {
        match material_of(*wire) {
            Some(m) if !materials.contains(&m) => materials.push(m),
            Some(_) => {}
            None => {
                return Err(Error::invalid(
                    format!("claim.materials[{i}]"),
                    "SUBS-MATERIALS",
                    "not a proof a claim lists",
                ));
            }
        }
    }
    materials.sort();
    // The peers first, never inside a transaction.
    let project = s.ports.selection.project(&input.project).await?;
    if project.provider_credit_code != provider {
        return Err(Error::denied("a provider files claims for its own projects"));
    }
    let snapshot_micros = qiancheng_platform::time::now_micros();
    let roster = s.ports.supervision.project_trainees(&input.project).await?;
    let outcome = s.ports.outcome.project_outcome(&input.project).await?;
    let project_id = id_of(&input.project, "projects", "claim.project")?.to_owned();
    let standards = standard::of_occupation(s.db.pool(), &project.occupation).await?;
    let mut uplifts = Vec::new();
    for recorded in uplift::of_project(s.db.pool(), &project_id).await? {
        let versions = uplift::versions(s.db.pool(), &recorded.policy_code).await?;
        for v in versions {
            uplifts.push((recorded.trainee.clone(), v.code.clone(), v.percent, v.effective_from, v.version));
        }
    }
    // Of each policy, only the version in force on the class's first day applies.
    uplifts.sort_by(|a, b| (&a.0, &a.1, b.3).cmp(&(&b.0, &b.1, a.3)));
    let today = s.today();
    let mut gathered = gather(&project, &roster, &outcome, &standards, &uplifts, today, materials)?;
    for t in &mut gathered.facts.trainees {
        let first_day = gathered.facts.classes.iter().find(|c| c.id == t.class_id).map(|c| c.first_day);
        let mut seen = std::collections::BTreeSet::new();
        t.uplifts.retain(|u| {
            let code = u.name.rsplit_once("-v").map_or(u.name.as_str(), |(c, _)| c).to_owned();
            first_day.is_some() && seen.insert(code)
        });
    }
    // SUBS-DEADLINE: a claim filed late is refused, nothing stored.
    let last_end = gathered.facts.classes.iter().map(|c| c.last_day).max().unwrap_or(today);
    Error::unless_passed(subs_deadline(&gathered.policy, last_end, today))?;
    let table = SubsidyStandardTable::new(gathered.standards.clone())
        .map_err(|e| Error::corrupt(format!("the standards table: {e}")))?;
    let decision = evaluate_claim(&gathered.policy, &gathered.facts, &table, &MinimumWageTable::default())
        .map_err(|e| Error::corrupt(format!("the claim's facts: {e}")))?;
    let roster_names: Vec<String> =
        roster.iter().filter(|t| t.removed_in_version == 0).map(|t| t.name.clone()).collect();
    let facts_json = serde_json::to_string(&StoredSnapshot { facts: &gathered.facts, trainees: &roster_names })
        .map_err(|_| Error::corrupt("a claim's snapshot"))?;
    let record = ClaimRecord {
        id: qiancheng_platform::time::new_id(),
        project_id,
        provider_credit_code: provider,
        region: project.region,
        state: store::FILED.to_owned(),
        filed_on: today,
        materials: gathered.facts.materials.clone(),
        policy_version: gathered.policy.version.clone(),
        policy_digest: gathered.policy.digest(),
        snapshot_micros,
        project_accepted_on: gathered.accepted_on,
        facts_cipher: s.pii.encrypt(&facts_json)?,
        standards: gathered.standards.clone(),
        total_fen: decision.outcome.total_fen.fen(),
        outcome: Calculation(Some(masked(decision.outcome.clone()))),
        created_by: call.principal.subject.clone(),
        stamp: Stamp::new(),
    };
    let names = roster_names.clone();
    let claim_rules: Vec<qiancheng_api::types::RuleResult> = decision.rules.iter().map(|r| r.into_proto()).collect();
    write::run(s, &call, async |change| {
        // One claim per project: a second would pay the same trainees twice.
        let filed =
            record::first::<ClaimRecord>(&mut *change.tx, Filter::new().eq("c.project_id", record.project_id.as_str()))
                .await?;
        if let Some(filed) = filed {
            return Err(Error::exists("CLAIM_EXISTS", format!("the project is claimed already by {}", filed.name())));
        }
        record::insert(&mut change.tx, &record).await?;
        change.audit_under(
            &record.policy_version,
            "claim.file",
            record.name(),
            serde_json::json!({ "project": record.project(), "total_fen": record.total_fen,
                "lines": names.len(), "policy_digest": record.policy_digest,
                "snapshot_micros": record.snapshot_micros }),
        );
        let mut claim = shown(&record, &names, true);
        claim.rules = claim_rules.clone();
        Ok(FileClaimResponse { claim: Some(claim) })
    })
    .await
}

/// The sealed snapshot: the facts and the roster entry of each trainee, in line order.
#[derive(Debug, serde::Serialize)]
struct StoredSnapshot<'a> {
    facts: &'a ClaimFacts,
    trainees: &'a [String],
}

/// The sealed snapshot as read back.
#[derive(Debug, serde::Deserialize)]
struct OpenedSnapshot {
    facts: ClaimFacts,
    trainees: Vec<String>,
}

/// Opens a stored snapshot.
fn opened(s: &Subsidy, record: &ClaimRecord) -> Result<OpenedSnapshot, Error> {
    let json = s.pii.decrypt(&record.facts_cipher)?;
    serde_json::from_str(&json).map_err(|_| Error::corrupt("a claim's snapshot"))
}

/// Reads a claim the caller may see.
async fn readable(
    s: &Subsidy,
    call_principal: &qiancheng_platform::auth::Principal,
    name: &str,
) -> Result<ClaimRecord, Error> {
    let scope = access::claim_read_scope(call_principal)?;
    let id = id_of(name, "claims", "name")?;
    let found = record::find::<ClaimRecord>(s.db.pool(), id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(found.region, &found.provider_credit_code)?;
    Ok(found)
}

/// GetClaim.
pub async fn get_claim(s: &Subsidy, call: Call<GetClaimRequest>) -> Result<GetClaimResponse, Error> {
    let found = readable(s, &call.principal, &call.message.name).await?;
    let snapshot = opened(s, &found)?;
    Ok(GetClaimResponse { claim: Some(shown(&found, &snapshot.trainees, true)) })
}

/// ListClaims.
pub async fn list_claims(s: &Subsidy, call: Call<ListClaimsRequest>) -> Result<ListClaimsResponse, Error> {
    let scope = access::claim_read_scope(&call.principal)?;
    let m = &call.message;
    let project = match m.project.as_str() {
        "" => None,
        name => Some(id_of(name, "projects", "project")?),
    };
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("claims|{}", project.unwrap_or_default()))?;
    let filter =
        Filter::new().eq_given("c.project_id", project).within(&scope, "c.region_code", Some("c.provider_credit_code"));
    let (records, next_page_token) = record::page::<ClaimRecord>(&s.db, filter, &page).await?;
    Ok(ListClaimsResponse { claims: records.iter().map(|r| shown(r, &[], false)).collect(), next_page_token })
}

/// GetClaimFacts.
pub async fn get_claim_facts(s: &Subsidy, call: Call<GetClaimFactsRequest>) -> Result<GetClaimFactsResponse, Error> {
    access::claim_facts_scope(&call.principal)?;
    let found = readable(s, &call.principal, &call.message.name).await?;
    let snapshot = opened(s, &found)?;
    let facts = ReplayFacts {
        policy_version: Some(found.policy_version.clone()),
        policy_digest: Some(found.policy_digest.clone()),
        policy: None,
        subsidy_standards: found.standards.clone(),
        minimum_wages: Vec::new(),
        project: snapshot.facts.project,
        classes: snapshot.facts.classes,
        trainees: snapshot.facts.trainees,
        filed_on: snapshot.facts.filed_on,
        materials: snapshot.facts.materials,
    };
    let facts_json = serde_json::to_string_pretty(&facts).map_err(|_| Error::corrupt("a claim's facts"))?;
    Ok(GetClaimFactsResponse { facts_json, total_fen: found.total_fen })
}
