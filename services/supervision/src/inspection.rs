//! Inspections (检查, 二(三) 过程监督; 八(四) 风险防控): CLASS-INSPECTION and the referral of a
//! provider for PROV-DISQUALIFIED.
//!
//! An officer records an announced or unannounced inspection with its spot checks (people
//! counted present against the check-ins recorded that day, venue, content), the finding and its
//! severity. The policy core decides what it means: a serious finding stops a class that still
//! runs; a serious subcontracting or fraud finding (转包、分包, 弄虚作假) also refers the provider
//! to selection, and any other serious finding (虚报人数 found at a spot check, safety) is
//! recorded there as a violation that PROV-CLEAN reads. The inspection and the stop commit
//! first; then, with no transaction open, selection is told (`DisqualifyProvider` or
//! `RecordViolation`, under a request id made from the inspection, so a retry never tells it
//! twice), and what it answered is recorded on the inspection; an accepted disqualification
//! stops the provider's other running classes ([`crate::standing`]). Calling
//! RecordInspection again with the same request id replays the inspection and retries a referral
//! that did not go through.

use qiancheng_api::convert::{self, FromProto as _};
use qiancheng_api::supervision::*;
use qiancheng_domain::Code as _;
use qiancheng_domain::lifecycle::{ClassState, Lifecycle as _};
use qiancheng_domain::policy::class::{FindingKind as Kind, FindingSeverity as Severity, InspectionFinding};
use qiancheng_domain::policy::class::{InspectionOutcome as Outcome, class_inspection};
use qiancheng_platform::error::Violations;
use qiancheng_platform::time::new_id;
use qiancheng_platform::{Call, Error, Stamp, write};
use serde_json::json;

use crate::Supervision;
use crate::access;
use crate::judge;
use crate::peer::{self, Referred};
use crate::store::StoredDecision;
use crate::store::attendance;
use crate::store::class as classes;
use crate::store::class_change::{self as feed, ChangeKind};
use crate::store::inspection::{self as store, InspectionRecord, Referral};
use crate::store::trainee;

/// The finding's severity and kind, validated.
fn finding(input: &Inspection, v: &mut Violations) -> (Option<Severity>, Kind) {
    let severity = Severity::from_proto(input.severity).ok().flatten();
    if severity.is_none() {
        v.add("inspection.severity", "CLASS-INSPECTION", "say how serious the finding is (NONE for nothing found)");
    }
    let kind = Kind::from_proto(input.finding).ok().flatten();
    match (severity, kind) {
        (Some(Severity::None), _) => (severity, Kind::Other),
        (_, Some(kind)) => (severity, kind),
        (_, None) => {
            v.add("inspection.finding", "CLASS-INSPECTION", "say what was found");
            (severity, Kind::Other)
        }
    }
}

/// RecordInspection: an officer's inspection of a class (CLASS-INSPECTION), and the referral of
/// its provider to selection when the finding disqualifies (PROV-DISQUALIFIED).
pub async fn record_inspection(
    s: &Supervision,
    call: Call<RecordInspectionRequest>,
) -> Result<RecordInspectionResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let input = m.inspection.clone().unwrap_or_default();
    let today = s.today();
    let mut v = Violations::default();
    let class_id = v.value("class", convert::resource_id(&m.class, "classes"));
    let inspection_kind = v.value("inspection.kind", store::InspectionKind::required(input.kind));
    let inspected_on = v.value("inspection.inspected_on", convert::required_date(input.inspected_on.as_ref()));
    if inspected_on.is_some_and(|d| d > today) {
        v.add("inspection.inspected_on", "CLASS-INSPECTION", "an inspection cannot be dated in the future");
    }
    let (severity, kind) = finding(&input, &mut v);
    let note = input.note.trim().to_owned();
    v.finish()?;
    let (Some(class_id), Some(inspection_kind), Some(inspected_on), Some(severity)) =
        (class_id, inspection_kind, inspected_on, severity)
    else {
        return Err(Error::invalid("inspection", "REQUIRED", "the inspection is incomplete"));
    };
    let inspector = call.principal.subject.clone();
    let response = write::run(s, &call, async |change| {
        change.serialize_on(&format!("class/{class_id}")).await?;
        let mut class = access::class_by_id(&mut *change.tx, &scope, class_id, &m.class).await?;
        if inspected_on < class.filed_on {
            return Err(Error::invalid(
                "inspection.inspected_on",
                "CLASS-INSPECTION",
                format!("the class was filed on {}; an inspection comes after", class.filed_on),
            ));
        }
        let policy = judge::policy_of_class(&s.policy, &class.policy_version, &class.policy_digest)?;
        let facts = InspectionFinding {
            class_id: class.id.clone(),
            inspected_on,
            officer: inspector.clone(),
            severity,
            kind,
            note: note.clone(),
        };
        let decision = class_inspection(&policy, &facts);
        let stops = matches!(decision.outcome, Outcome::Stop | Outcome::StopAndDisqualify);
        let record = InspectionRecord {
            id: new_id(),
            class_id: class.id.clone(),
            kind: inspection_kind,
            inspected_on,
            inspector: inspector.clone(),
            people_present: i64::from(input.people_present),
            signed_in: attendance::signed_in_on(&mut change.tx, &class.id, &inspected_on.to_string()).await?,
            venue_ok: input.venue_ok,
            content_ok: input.content_ok,
            severity,
            finding: kind,
            note: note.clone(),
            decision: StoredDecision::of(&decision, decision.all_passed(), &class.policy_digest),
            outcome: decision.outcome,
            // Selection is told of every serious finding: one that disqualifies as a referral, the
            // others as a violation PROV-CLEAN reads.
            referral: if stops { Referral::Pending } else { Referral::NotNeeded },
            referral_message: String::new(),
            stamp: Stamp::new(),
        };
        store::insert(&mut change.tx, &record).await?;
        crate::watch::after_inspection(change, &class, &record).await?;
        change.audit_under(
            &class.policy_version,
            "inspection.record",
            record.name(),
            json!({ "class": class.name(), "inspected_on": inspected_on.to_string(), "unannounced": inspection_kind == store::InspectionKind::Unannounced,
                "people_present": record.people_present, "signed_in": record.signed_in, "venue_ok": record.venue_ok,
                "content_ok": record.content_ok, "severity": severity.code_of(),
                "finding": kind.code_of(), "outcome": decision.outcome.code_of() }),
        );
        // CLASS-INSPECTION: a serious finding stops a class that still runs.
        if stops && class.running() {
            class.state = class.state.to(ClassState::Stopped)?;
            class.stopped_on = Some(inspected_on);
            class.stop_reason = format!("CLASS-INSPECTION: {note}");
            class.stamp.touch();
            classes::update(&mut change.tx, &class).await?;
            let terminated =
                trainee::terminate_active(&mut change.tx, &class.id, inspected_on, &class.stop_reason).await?;
            change.audit_under(
                &class.policy_version,
                "trainee.terminate",
                class.name(),
                json!({ "terminated_on": inspected_on.to_string(), "reason": class.stop_reason,
                    "trainees": terminated.iter().map(|t| t.id.as_str()).collect::<Vec<_>>() }),
            );
            feed::note(change, ChangeKind::ClassStopped, &class, None, inspected_on, &inspector).await?;
            change.audit_under(
                &class.policy_version,
                "class.stop",
                class.name(),
                json!({ "state": class.state.code(), "inspection": record.name(), "stopped_on": inspected_on.to_string() }),
            );
        }
        Ok(RecordInspectionResponse { inspection: Some(record.to_proto()), class: Some(class.to_proto()) })
    })
    .await?;
    refer_if_needed(s, &call.principal.subject, response).await
}

/// Tells selection of a disqualifying finding whose referral has not gone through, records its
/// answer, and returns the inspection and class as they are now.
async fn refer_if_needed(
    s: &Supervision,
    actor: &str,
    response: RecordInspectionResponse,
) -> Result<RecordInspectionResponse, Error> {
    let Some(name) = response.inspection.as_ref().map(|i| i.name.clone()) else { return Ok(response) };
    let (class_id, inspection_id) = access::child_of(&name, "inspections", "name")?;
    let pool = s.db.pool();
    let (Some(record), Some(class)) =
        (store::find(pool, class_id, inspection_id).await?, classes::find(pool, class_id).await?)
    else {
        return Ok(response);
    };
    if !matches!(record.referral, Referral::Pending | Referral::Refused) {
        return Ok(RecordInspectionResponse { inspection: Some(record.to_proto()), class: Some(class.to_proto()) });
    }
    let request_id = format!("supervision/{}", record.name());
    let disqualifies = record.outcome == Outcome::StopAndDisqualify;
    let answer = if disqualifies {
        peer::refer_provider(
            s,
            &class.provider_credit_code,
            record.finding,
            &record.note,
            record.inspected_on,
            &request_id,
        )
        .await
    } else {
        peer::record_violation(s, &class.provider_credit_code, &record.note, record.inspected_on, &request_id).await
    };
    // PROV-DISQUALIFIED: the provider's other running classes stop with it.
    if disqualifies && matches!(answer, Referred::Accepted(_)) {
        crate::standing::stop_provider(
            s,
            &class.provider_credit_code,
            &format!("{} 检查: {}", record.inspected_on, record.note),
        )
        .await?;
    }
    let mut change = write::Change::open(s, actor).await?;
    let Some(mut record) = store::find(&mut *change.tx, class_id, inspection_id).await? else {
        return Ok(response);
    };
    (record.referral, record.referral_message) = match answer {
        Referred::Accepted(message) => (Referral::Accepted, message),
        Referred::Refused(message) => (Referral::Refused, message),
        Referred::Unreachable(message) => (Referral::Pending, message),
    };
    record.stamp.touch();
    store::update_referral(&mut change.tx, &record).await?;
    change.audit_under(
        &class.policy_version,
        "inspection.refer",
        record.name(),
        json!({ "provider": class.provider_credit_code, "referral": record.referral.code(),
            "message": record.referral_message }),
    );
    change.commit().await?;
    Ok(RecordInspectionResponse { inspection: Some(record.to_proto()), class: Some(class.to_proto()) })
}

/// ListInspections: inspections of one class, of one county's classes, or all the caller reads.
pub async fn list_inspections(
    s: &Supervision,
    call: Call<ListInspectionsRequest>,
) -> Result<ListInspectionsResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let class_id = if m.class.is_empty() {
        String::new()
    } else {
        // Permission before existence: a class outside the caller's scope is refused.
        access::class_in(s.db.pool(), &scope, &m.class, "class").await?.id
    };
    let page = qiancheng_platform::page::PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("inspections|{class_id}|{}", m.region_code),
    )?;
    let (records, next_page_token) = store::page(&s.db, &scope, (&class_id, &m.region_code), &page).await?;
    Ok(ListInspectionsResponse {
        inspections: records.iter().map(InspectionRecord::to_proto).collect(),
        next_page_token,
    })
}
