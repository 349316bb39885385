//! How a stored claim is opened, calculated again and shown, for every handler of claims, their
//! review, notice and objections: the sealed snapshot read back with the data key, the policy
//! core's calculation with the exclusions officers made at review (CLAIM_LINE_EXCLUDED), and the
//! claim as the API shows it (names masked 张*三, ID numbers hidden). Not a handler: it checks
//! nothing but the caller's read scope.

use chrono::NaiveDate;
use qiancheng_api::IntoProto as _;
use qiancheng_api::subsidy::*;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::calendar::HolidayCalendar;
use qiancheng_domain::policy::claim::evaluate_claim;
use qiancheng_domain::policy::subsidy::{
    ClaimDecision, ClaimFacts, ClaimMaterial as Material, ClaimOutcome, LineExclusion as PolicyExclusion,
    subs_notice_end, subs_review_exclusions,
};
use qiancheng_domain::policy::tables::{MinimumWageTable, SubsidyStandardTable};
use qiancheng_platform::call::id_of;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::pii::mask_name;
use qiancheng_platform::record;
use qiancheng_platform::{Error, auth::Principal};

use crate::Subsidy;
use crate::access;
use crate::store::claim::{self as store, ClaimRecord, Exclusion};

/// A claim's state as the wire shows it.
pub fn state_to_wire(state: &str) -> i32 {
    let wire = match state {
        store::RETURNED => ClaimState::Returned,
        store::ON_NOTICE => ClaimState::OnNotice,
        store::APPROVED => ClaimState::Approved,
        _ => ClaimState::Filed,
    };
    wire as i32
}

/// How the public objects to a claim on notice, in plain Chinese for the notice page: where and
/// how, naming the filing bureau (the public RPC is `SubmitObjection`; the page says so without
/// naming it).
pub fn how_to_object(record: &ClaimRecord) -> String {
    format!(
        "公示期内,任何单位和个人均可在本公示页面提出异议(无需注册账号),也可以书面、电话或当面方式向{}人力资源和社会保障局提出异议。",
        record.region.name()
    )
}

/// The claim's notice, while it has one.
pub fn notice_of(record: &ClaimRecord) -> Option<ClaimNotice> {
    let (published_on, ends_on) = (record.notice_published_on?, record.notice_ends_on?);
    let working_days = PolicySet::recorded(&record.policy_version, Some(record.policy_digest.as_str()))
        .map_or(0, |p| i32::try_from(p.notice_working_days).unwrap_or(i32::MAX));
    Some(ClaimNotice {
        published_on: Some(published_on.into_proto()),
        ends_on: Some(ends_on.into_proto()),
        working_days,
        how_to_object: how_to_object(record),
    })
}

/// SUBS-NOTICE: the last day of a notice published on `published_on`, under the claim's policy
/// set and the holiday calendar (DATE-WORKDAYS). A year the calendar does not cover is
/// FAILED_PRECONDITION DATE-WORKDAYS naming the year, never a guess.
pub fn notice_end(calendar: &HolidayCalendar, policy: &PolicySet, published_on: NaiveDate) -> Result<NaiveDate, Error> {
    subs_notice_end(policy, calendar, published_on).map_err(|e| match e {
        qiancheng_domain::Error::YearNotCovered { year } => Error::precondition(
            "DATE-WORKDAYS",
            format!(
                "the holiday calendar does not cover {year}: the notice's working days cannot be counted until \
                 the calendar of {year} is loaded"
            ),
        ),
        other => Error::corrupt(format!("the notice's working days: {other}")),
    })
}

/// The claim's policy set, as recorded with it.
pub fn policy_of(record: &ClaimRecord) -> Result<PolicySet, Error> {
    PolicySet::recorded(&record.policy_version, Some(record.policy_digest.as_str()))
        .map_err(|e| Error::corrupt(format!("the claim's policy set: {e}")))
}

/// The stored exclusions as the facts name them: by class and ID number (the snapshot's line).
pub fn policy_exclusions(snapshot: &OpenedSnapshot, exclusions: &[Exclusion]) -> Result<Vec<PolicyExclusion>, Error> {
    exclusions
        .iter()
        .map(|e| {
            let index = snapshot
                .trainees
                .iter()
                .position(|t| *t == e.trainee)
                .ok_or_else(|| Error::corrupt("an exclusion of a trainee not on the claim"))?;
            let trainee = snapshot.facts.trainees.get(index).ok_or_else(|| Error::corrupt("a claim's snapshot"))?;
            Ok(PolicyExclusion {
                class_id: trainee.class_id.clone(),
                id_number: trainee.person.id_number.clone(),
                reason: e.reason.clone(),
                excluded_by: e.excluded_by.clone(),
            })
        })
        .collect()
}

/// The claim calculated again from its snapshot, under its policy set and standards, with the
/// exclusions given applied: what a replay of its facts export gives.
pub fn recalculated(
    record: &ClaimRecord,
    snapshot: &OpenedSnapshot,
    exclusions: &[Exclusion],
) -> Result<ClaimDecision, Error> {
    let policy = policy_of(record)?;
    let table = SubsidyStandardTable::new(record.standards.clone())
        .map_err(|e| Error::corrupt(format!("the standards table: {e}")))?;
    let mut decision = evaluate_claim(&policy, &snapshot.facts, &table, &MinimumWageTable::default())
        .map_err(|e| Error::corrupt(format!("the claim's facts: {e}")))?;
    let excluded = policy_exclusions(snapshot, exclusions)?;
    if !excluded.is_empty() {
        decision.outcome = subs_review_exclusions(decision.outcome, &snapshot.facts.trainees, &excluded)
            .map_err(|e| Error::corrupt(format!("the claim's exclusions: {e}")))?;
    }
    Ok(decision)
}

/// A material on the wire.
pub fn material_of(wire: i32) -> Option<Material> {
    match ClaimMaterial::try_from(wire).ok()? {
        ClaimMaterial::Annex4 => Some(Material::Annex4),
        ClaimMaterial::Ledger => Some(Material::Ledger),
        ClaimMaterial::CertificateEvidence => Some(Material::CertificateEvidence),
        ClaimMaterial::EmploymentEvidence => Some(Material::EmploymentEvidence),
        ClaimMaterial::Unspecified => None,
    }
}

/// The materials of a request, each once, in order; an unknown one is INVALID_ARGUMENT
/// SUBS-MATERIALS naming `field`.
pub fn materials_of(wire: &[i32], field: &str) -> Result<Vec<Material>, Error> {
    let mut materials = Vec::new();
    for (i, w) in wire.iter().enumerate() {
        match material_of(*w) {
            Some(m) if !materials.contains(&m) => materials.push(m),
            Some(_) => {}
            None => {
                return Err(Error::invalid(format!("{field}[{i}]"), "SUBS-MATERIALS", "not a proof a claim lists"));
            }
        }
    }
    materials.sort();
    Ok(materials)
}

/// A material as the wire shows it.
pub fn material_to_wire(material: Material) -> i32 {
    let wire = match material {
        Material::Annex4 => ClaimMaterial::Annex4,
        Material::Ledger => ClaimMaterial::Ledger,
        Material::CertificateEvidence => ClaimMaterial::CertificateEvidence,
        Material::EmploymentEvidence => ClaimMaterial::EmploymentEvidence,
    };
    wire as i32
}

/// The calculation with names masked and ID numbers left masked, as it is stored and shown.
pub fn masked(mut outcome: ClaimOutcome) -> ClaimOutcome {
    for line in &mut outcome.lines {
        line.trainee_name = mask_name(&line.trainee_name);
    }
    outcome
}

/// The claim as the API shows it, with its lines when `with_lines`. Trainees are named by
/// their roster entry; the person is masked (张*三) and the ID number hidden; each line's rules
/// are told as `audience` may read them (a provider is not told another provider's class).
pub fn shown(record: &ClaimRecord, trainee_names: &[String], with_lines: bool, audience: Audience) -> Claim {
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
                        rules: l.rules.iter().map(|r| audience.rule(r).into_proto()).collect(),
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
        state: state_to_wire(&record.state),
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
        exclusions: record
            .exclusions
            .iter()
            .map(|e| LineExclusion {
                trainee: e.trainee.clone(),
                reason: e.reason.clone(),
                excluded_by: e.excluded_by.clone(),
            })
            .collect(),
        return_reasons: record.return_reasons.clone(),
        reviewed_by: record.reviewed_by.clone(),
        reviewed_on: record.reviewed_on.into_proto(),
        notice: notice_of(record),
        approved_by: record.approved_by.clone(),
        approved_on: record.approved_on.into_proto(),
    }
}

/// The sealed snapshot: the facts, the roster entry of each trainee in line order, and the
/// evidence items in outcome each verdict rested on (by roster entry).
#[derive(Debug, serde::Serialize)]
pub struct StoredSnapshot<'a> {
    /// The facts.
    pub facts: &'a ClaimFacts,
    /// The roster entries, in line order.
    pub trainees: &'a [String],
    /// The evidence items (`evidence/{id}` in outcome) of each verdict, by roster entry.
    pub verdict_evidence: &'a std::collections::BTreeMap<String, Vec<String>>,
}

/// The sealed snapshot as read back (snapshots stored before the evidence was kept have none).
#[derive(Debug, serde::Deserialize)]
pub struct OpenedSnapshot {
    /// The facts.
    pub facts: ClaimFacts,
    /// The roster entries, in line order.
    pub trainees: Vec<String>,
    /// The evidence items of each verdict, by roster entry.
    #[serde(default)]
    pub verdict_evidence: std::collections::BTreeMap<String, Vec<String>>,
}

/// Opens a stored snapshot.
pub fn opened(s: &Subsidy, record: &ClaimRecord) -> Result<OpenedSnapshot, Error> {
    let json = s.pii.decrypt(&record.facts_cipher)?;
    serde_json::from_str(&json).map_err(|_| Error::corrupt("a claim's snapshot"))
}

/// Reads a claim the caller may see.
pub async fn readable(s: &Subsidy, call_principal: &Principal, name: &str) -> Result<ClaimRecord, Error> {
    let scope = access::claim_read_scope(call_principal)?;
    let id = id_of(name, "claims", "name")?;
    let found = record::find::<ClaimRecord>(s.db.pool(), id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(found.region, &found.provider_credit_code)?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("a date")
    }

    #[test]
    fn subs_notice_five_working_days_from_the_next_one_across_a_weekend() {
        let policy = PolicySet::current();
        // Published Friday 2026-03-06: Monday 9th to Friday 13th.
        assert_eq!(notice_end(&HolidayCalendar::bundled(), &policy, d(2026, 3, 6)).expect("covered"), d(2026, 3, 13));
    }

    #[test]
    fn date_workdays_a_year_the_calendar_does_not_cover_is_a_precondition_naming_it() {
        let refused = notice_end(&HolidayCalendar::bundled(), &PolicySet::current(), d(2027, 3, 1)).expect_err("2027");
        match refused {
            Error::FailedPrecondition { reason, message } => {
                assert_eq!(&*reason, "DATE-WORKDAYS");
                assert!(message.contains("2027"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // The last days of a covered year reach into one that is not.
        assert!(notice_end(&HolidayCalendar::bundled(), &PolicySet::current(), d(2026, 12, 28)).is_err());
    }
}
