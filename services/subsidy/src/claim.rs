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
use qiancheng_api::{FromProto as _, IntoProto as _};
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::claim::evaluate_claim;
use qiancheng_domain::policy::facts::{
    Certificate, CertificateKind, ClassFacts, KeyProject, KeyProjectLibrary, LocalBasis, LocalBasisKind, TraineeFacts,
};
use qiancheng_domain::policy::replay::ReplayFacts;
use qiancheng_domain::policy::subsidy::{
    ClaimFacts, ClaimMaterial as Material, ClaimTrainee, ProjectFacts, Uplift, subs_deadline,
};
use qiancheng_domain::policy::tables::{MinimumWageTable, SubsidyStandardTable};
use qiancheng_domain::{OccupationCode, SkillLevel, TargetGroup};
use qiancheng_platform::auth::Role;
use qiancheng_platform::call::id_of;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::access;
use crate::claim_view::{
    OpenedSnapshot, StoredSnapshot, masked, materials_of, opened, policy_exclusions, readable, recalculated, shown,
};
use crate::peer::{OutcomeFacts, ProjectView};
use crate::store::claim::{self as store, Calculation, ClaimRecord};
use crate::store::{standard, uplift};

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

/// A claim gathered from the peers and calculated, ready to store.
struct Calculated {
    record: ClaimRecord,
    decision: qiancheng_domain::policy::subsidy::ClaimDecision,
    names: Vec<String>,
    facts: ClaimFacts,
}

/// Gathers a claim of `provider` for `project_name` from the peers and the tables, checks
/// SUBS-DEADLINE against `filed_on` and calculates it, before any transaction. `created_by`
/// names who filed it.
async fn calculate(
    s: &Subsidy,
    provider: &str,
    project_name: &str,
    materials: Vec<Material>,
    filed_on: NaiveDate,
    created_by: &str,
) -> Result<Calculated, Error> {
    // The peers first, never inside a transaction.
    let project = s.ports.selection.project(project_name).await?;
    if project.provider_credit_code != provider {
        return Err(Error::denied("a provider files claims for its own projects"));
    }
    let snapshot_micros = qiancheng_platform::time::now_micros();
    let roster = s.ports.supervision.project_trainees(project_name).await?;
    let outcome = s.ports.outcome.project_outcome(project_name).await?;
    let project_id = id_of(project_name, "projects", "claim.project")?.to_owned();
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
    let mut gathered = gather(&project, &roster, &outcome, &standards, &uplifts, filed_on, materials)?;
    for t in &mut gathered.facts.trainees {
        let first_day = gathered.facts.classes.iter().find(|c| c.id == t.class_id).map(|c| c.first_day);
        let mut seen = std::collections::BTreeSet::new();
        t.uplifts.retain(|u| {
            let code = u.name.rsplit_once("-v").map_or(u.name.as_str(), |(c, _)| c).to_owned();
            first_day.is_some() && seen.insert(code)
        });
    }
    // SUBS-DEADLINE: a claim filed late is refused, nothing stored.
    let last_end = gathered.facts.classes.iter().map(|c| c.last_day).max().unwrap_or(filed_on);
    Error::unless_passed(subs_deadline(&gathered.policy, last_end, filed_on))?;
    let table = SubsidyStandardTable::new(gathered.standards.clone())
        .map_err(|e| Error::corrupt(format!("the standards table: {e}")))?;
    let decision = evaluate_claim(&gathered.policy, &gathered.facts, &table, &MinimumWageTable::default())
        .map_err(|e| Error::corrupt(format!("the claim's facts: {e}")))?;
    let roster_names: Vec<String> =
        roster.iter().filter(|t| t.removed_in_version == 0).map(|t| t.name.clone()).collect();
    let facts_json = serde_json::to_string(&StoredSnapshot {
        facts: &gathered.facts,
        trainees: &roster_names,
        verdict_evidence: &outcome.verdict_evidence,
    })
    .map_err(|_| Error::corrupt("a claim's snapshot"))?;
    let record = ClaimRecord {
        id: qiancheng_platform::time::new_id(),
        project_id,
        project_title: project.title.clone(),
        provider_credit_code: provider.to_owned(),
        region: project.region,
        state: store::FILED.to_owned(),
        filed_on,
        materials: gathered.facts.materials.clone(),
        policy_version: gathered.policy.version.clone(),
        policy_digest: gathered.policy.digest(),
        snapshot_micros,
        project_accepted_on: gathered.accepted_on,
        facts_cipher: s.pii.encrypt(&facts_json)?,
        standards: gathered.standards.clone(),
        total_fen: decision.outcome.total_fen.fen(),
        outcome: Calculation(Some(masked(decision.outcome.clone()))),
        created_by: created_by.to_owned(),
        exclusions: Vec::new(),
        return_reasons: Vec::new(),
        reviewed_by: String::new(),
        reviewed_on: None,
        notice_published_on: None,
        notice_ends_on: None,
        approved_by: String::new(),
        approved_on: None,
        stamp: Stamp::new(),
    };
    Ok(Calculated { record, decision, names: roster_names, facts: gathered.facts })
}

/// FileClaim.
pub async fn file_claim(s: &Subsidy, call: Call<FileClaimRequest>) -> Result<FileClaimResponse, Error> {
    let provider = call.principal.own_org(Role::Provider)?.to_owned();
    let input = call.message.claim.clone().unwrap_or_default();
    let materials = materials_of(&input.materials, "claim.materials")?;
    let Calculated { record, decision, names: roster_names, .. } =
        calculate(s, &provider, &input.project, materials, s.today(), &call.principal.subject).await?;
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
        let mut claim = shown(&record, &names, true, Audience::of(&call.principal));
        claim.rules = claim_rules.clone();
        Ok(FileClaimResponse { claim: Some(claim) })
    })
    .await
}

/// GetClaim.
pub async fn get_claim(s: &Subsidy, call: Call<GetClaimRequest>) -> Result<GetClaimResponse, Error> {
    let found = readable(s, &call.principal, &call.message.name).await?;
    let snapshot = opened(s, &found)?;
    Ok(GetClaimResponse { claim: Some(shown(&found, &snapshot.trainees, true, Audience::of(&call.principal))) })
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
    Ok(ListClaimsResponse {
        claims: records.iter().map(|r| shown(r, &[], false, Audience::of(&call.principal))).collect(),
        next_page_token,
    })
}

/// GetClaimFacts.
pub async fn get_claim_facts(s: &Subsidy, call: Call<GetClaimFactsRequest>) -> Result<GetClaimFactsResponse, Error> {
    access::claim_facts_scope(&call.principal)?;
    let found = readable(s, &call.principal, &call.message.name).await?;
    let snapshot = opened(s, &found)?;
    // The officers' exclusions travel with the facts, so a replay gives the stored fen.
    let exclusions = policy_exclusions(&snapshot, &found.exclusions)?;
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
        exclusions,
    };
    let facts_json = serde_json::to_string_pretty(&facts).map_err(|_| Error::corrupt("a claim's facts"))?;
    Ok(GetClaimFactsResponse { facts_json, total_fen: found.total_fen })
}

/// ResubmitClaim.
pub async fn resubmit_claim(s: &Subsidy, call: Call<ResubmitClaimRequest>) -> Result<ResubmitClaimResponse, Error> {
    let provider = call.principal.own_org(Role::Provider)?.to_owned();
    let m = &call.message;
    let found = readable(s, &call.principal, &m.name).await?;
    let materials = materials_of(&m.materials, "materials")?;
    // Gathered again from the peers: the provider may have corrected what they hold. The
    // deadline is counted from the day the claim was first filed.
    let fresh = calculate(s, &provider, &found.project(), materials, found.filed_on, &found.created_by).await?;
    write::run(s, &call, async |change| {
        let mut record = record::find::<ClaimRecord>(&mut *change.tx, found.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(found.name()))?;
        if !call.message.etag.is_empty() {
            record.stamp.check(&call.message.etag)?;
        }
        if record.state != store::RETURNED {
            return Err(Error::precondition(
                "CLAIM_STATE",
                format!("only a returned claim is refiled; this one is {}", record.state.to_lowercase()),
            ));
        }
        let previous_total = record.total_fen;
        record.state = store::FILED.to_owned();
        record.project_title = fresh.record.project_title.clone();
        record.materials = fresh.record.materials.clone();
        record.policy_version = fresh.record.policy_version.clone();
        record.policy_digest = fresh.record.policy_digest.clone();
        record.snapshot_micros = fresh.record.snapshot_micros;
        record.project_accepted_on = fresh.record.project_accepted_on;
        record.facts_cipher = fresh.record.facts_cipher.clone();
        record.standards = fresh.record.standards.clone();
        record.total_fen = fresh.record.total_fen;
        record.outcome = fresh.record.outcome.clone();
        record.exclusions = Vec::new();
        record.return_reasons = Vec::new();
        record.reviewed_by = String::new();
        record.reviewed_on = None;
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        change.audit_under(
            &record.policy_version,
            "claim.resubmit",
            record.name(),
            serde_json::json!({ "previous_total_fen": previous_total, "total_fen": record.total_fen,
                "materials": record.materials, "snapshot_micros": record.snapshot_micros }),
        );
        let mut claim = shown(&record, &fresh.names, true, Audience::of(&call.principal));
        claim.rules = fresh.decision.rules.iter().map(|r| r.into_proto()).collect();
        Ok(ResubmitClaimResponse { claim: Some(claim) })
    })
    .await
}

/// Follows a change of `project`'s rate in outcome (the claim's rate moves until payment is
/// released): its claim, unless it is back with its provider, is gathered again from the peers
/// and calculated with the review's exclusions. If the amount changes, the new snapshot and
/// calculation are stored and a claim on notice or approved goes back to review: its notice and
/// approval are void, and a new review puts it on a new notice. Returns the claim when it
/// changed.
pub async fn follow_rate_change(s: &Subsidy, project: &str) -> Result<Option<String>, Error> {
    let Ok(project_id) = id_of(project, "projects", "project") else { return Ok(None) };
    let Some(found) = record::first::<ClaimRecord>(s.db.pool(), Filter::new().eq("c.project_id", project_id)).await?
    else {
        return Ok(None);
    };
    if found.state == store::RETURNED {
        // The provider's refiling gathers it again anyway.
        return Ok(None);
    }
    let released = crate::payment::released(s, &found.id).await?;
    let fresh = calculate(
        s,
        &found.provider_credit_code,
        &found.project(),
        found.materials.clone(),
        found.filed_on,
        &found.created_by,
    )
    .await?;
    let snapshot = OpenedSnapshot {
        facts: fresh.facts.clone(),
        trainees: fresh.names.clone(),
        verdict_evidence: Default::default(),
    };
    let kept: Vec<_> = found.exclusions.iter().filter(|e| fresh.names.contains(&e.trainee)).cloned().collect();
    let decision = recalculated(&fresh.record, &snapshot, &kept)?;
    if released {
        // Released: the amount paid stands, never recalculated; a rate that fell is recovered
        // line by line (SUBS-RECOVER), a rise is not paid.
        let opened = crate::recovery::follow_fallen_rate(s, &found, &decision.outcome).await?;
        return Ok((!opened.is_empty()).then(|| found.name()));
    }
    if decision.outcome.total_fen.fen() == found.total_fen {
        return Ok(None);
    }
    let mut change = write::Change::open(s, "service:subsidy").await?;
    let mut record = record::find::<ClaimRecord>(&mut *change.tx, found.id.as_str())
        .await?
        .ok_or_else(|| Error::NotFound(found.name()))?;
    let previous_total = record.total_fen;
    let previous_state = record.state.clone();
    record.project_title = fresh.record.project_title.clone();
    record.policy_version = fresh.record.policy_version.clone();
    record.policy_digest = fresh.record.policy_digest.clone();
    record.snapshot_micros = fresh.record.snapshot_micros;
    record.project_accepted_on = fresh.record.project_accepted_on;
    record.facts_cipher = fresh.record.facts_cipher.clone();
    record.standards = fresh.record.standards.clone();
    record.exclusions = kept;
    record.total_fen = decision.outcome.total_fen.fen();
    record.outcome = Calculation(Some(masked(decision.outcome)));
    if record.state == store::ON_NOTICE || record.state == store::APPROVED {
        record.back_to_review();
    }
    record.stamp.touch();
    record::update(&mut change.tx, &record).await?;
    change.audit_under(
        &record.policy_version,
        "claim.recalculate",
        record.name(),
        serde_json::json!({ "cause": "outcome rate change", "previous_total_fen": previous_total,
            "total_fen": record.total_fen, "previous_state": previous_state, "state": record.state,
            "snapshot_micros": record.snapshot_micros }),
    );
    change.commit().await?;
    Ok(Some(record.name()))
}
