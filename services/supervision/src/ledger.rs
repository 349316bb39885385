//! The training ledger (培训台账, 七(四) 承训机构应建立培训台账; 八(三) 全程留痕, CLASS-LEDGER),
//! the roster other services read, and the audit chain.
//!
//! The ledger is the whole record of a class, read in one consistent snapshot and sent as one
//! stream: the filing with what selection said, every session, every trainee ever on the roster
//! or proposed for it (with the versions that added and removed them), their attendance per
//! session with its evidence (the check-in event's id, time, device and method, who uploaded it
//! and when it was received, and each correction with its reason and who made it) and share of
//! the class's hours, results and certificates (who recorded each, and whether it counts for
//! completion, EVALUATION_RELATED), every roster change, correction and inspection with its spot
//! checks, and CLASS-LEDGER's judgement of its completeness: an auditor re-derives every
//! completion from it alone. Personal data is whole for the roles that may see it and masked for
//! auditors; the evidence names devices and the accounts that acted, never a person's data. A
//! trainee's part is bounded ([`LEDGER_PART_BYTES`]); a larger row goes on in continuation parts.
//!
//! ListProjectTrainees is the contract the outcome and subsidy services build on (documented on
//! `ProjectTrainee` in the proto): everyone ever on the real-name roster of any class of a
//! project, with the class's dates, the completion decision, in-service flag, level and
//! certificates.

use std::collections::{HashMap, HashSet};

use prost::Message as _;
use qiancheng_api::convert::{self, IntoProto as _, Shown as _};
use qiancheng_api::supervision::*;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::lifecycle::{ClassState, TraineeState};
use qiancheng_domain::policy::class::{ClassLedger, LedgerRow, RosterEntry, SkillEvaluationRecord, class_ledger};
use qiancheng_platform::auth::Role;
use qiancheng_platform::db::Backend;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::pii::PiiCipher;
use qiancheng_platform::{Call, Error};

use crate::Supervision;
use crate::store::attendance;
use crate::store::class::{self as classes, ClassRecord};
use crate::store::evaluation::{self as evaluations, EvaluationRecord};
use crate::store::inspection::{self as inspections};
use crate::store::int32;
use crate::store::roster_change::{self as changes};
use crate::store::session::{self as sessions, SessionRecord};
use crate::store::trainee::{self, SealedPerson, TraineeRecord};
use crate::{access, judge};

/// The person whole, from what is sealed.
fn unsealed(pii: &PiiCipher, sealed: &SealedPerson) -> Result<PersonRef, Error> {
    Ok(PersonRef {
        name: pii.decrypt(&sealed.name_cipher)?,
        id_number: pii.decrypt(&sealed.id_number_cipher)?,
        phone: pii.decrypt(&sealed.phone_cipher)?,
    })
}

/// The person's hash under the newest data key, as the contract promises it (the same for the
/// same person everywhere): the stored one, or, for a row that re-encryption has not reached
/// yet, one made from its sealed ID number.
fn current_hash(pii: &PiiCipher, person: &TraineeRecord) -> Result<String, Error> {
    if pii.is_hashed_under_newest(&person.person_hash) {
        Ok(person.person_hash.clone())
    } else {
        Ok(pii.lookup_hash(&pii.decrypt(&person.sealed.id_number_cipher)?))
    }
}

/// The share of `hours` in `of`, in basis points, rounded down.
fn basis_points(hours: i64, of: u32) -> i32 {
    if of == 0 { 0 } else { int32(hours.max(0).saturating_mul(10_000) / i64::from(of)) }
}

/// The most bytes of one trainee part of a ledger (1 MiB; half the largest message when the
/// operator sets `QIANCHENG_MAX_MESSAGE_BYTES` below 2 MiB): a row with more marks goes on in
/// continuation parts (`LedgerTrainee.continued`).
pub const LEDGER_PART_BYTES: usize = 1 << 20;

/// One attendance mark with its evidence and its corrections, as the ledger shows it.
fn mark_to_proto(
    class_id: &str,
    m: &attendance::AttendanceRow,
    corrections: Vec<&attendance::CorrectionRecord>,
) -> AttendanceMark {
    AttendanceMark {
        session: format!("classes/{class_id}/sessions/{}", m.session_id),
        hours: int32(m.hours),
        corrected: m.from_correction() || !corrections.is_empty(),
        event_id: m.event_id.clone(),
        checked_in_micros: m.checked_in_micros,
        device: m.device.clone(),
        method: m.method.into_proto(),
        uploaded_by: m.recorded_by.clone(),
        received_micros: m.received_micros,
        reported_hours: int32(m.reported_hours),
        from_correction: m.from_correction(),
        corrections: corrections.into_iter().map(attendance::CorrectionRecord::to_proto).collect(),
    }
}

/// A trainee's row as parts of at most about `budget` bytes each: the row itself with as many
/// of its marks as fit, then continuation parts with only the trainee's name and more marks, in
/// order. A row that fits is one part; a part always takes at least one mark.
fn bounded(mut row: LedgerTrainee, budget: usize) -> Vec<LedgerTrainee> {
    if row.encoded_len() <= budget {
        return vec![row];
    }
    let name = row.trainee.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    let marks = std::mem::take(&mut row.attendance);
    let mut parts = vec![row];
    let mut size = parts[0].encoded_len();
    for mark in marks {
        // A mark's share of its part: the mark and its field tag and length.
        let cost = mark.encoded_len() + 8;
        let last = parts.last_mut().expect("the row is the first part");
        if size + cost > budget && !last.attendance.is_empty() {
            let next = LedgerTrainee {
                trainee: Some(Trainee { name: name.clone(), ..Default::default() }),
                continued: true,
                ..Default::default()
            };
            size = next.encoded_len();
            parts.push(next);
        }
        size += cost;
        parts.last_mut().expect("a part").attendance.push(mark);
    }
    parts
}

/// Everything a ledger shows, read in one snapshot.
struct Snapshot {
    class: ClassRecord,
    sessions: Vec<SessionRecord>,
    trainees: Vec<TraineeRecord>,
    marks: Vec<attendance::AttendanceRow>,
    evaluations: Vec<EvaluationRecord>,
    changes: Vec<changes::RosterChangeRecord>,
    corrections: Vec<attendance::CorrectionRecord>,
    inspections: Vec<inspections::InspectionRecord>,
}

async fn snapshot(s: &Supervision, class_id: &str, name: &str, scope: &access::Scope) -> Result<Snapshot, Error> {
    let mut tx = s.db.pool().begin().await?;
    if s.db.backend() == Backend::Postgres {
        // Every read below sees the same committed state.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
    }
    let class = access::class_by_id(&mut *tx, scope, class_id, name).await?;
    let snapshot = Snapshot {
        sessions: sessions::of_class(&mut *tx, &class.id).await?,
        trainees: trainee::of_class(&mut *tx, &class.id).await?,
        marks: attendance::marks(&mut *tx, &class.id).await?,
        evaluations: evaluations::of_class(&mut *tx, &class.id).await?,
        changes: changes::of_class(&mut *tx, &class.id).await?,
        corrections: attendance::corrections_of_class(&mut *tx, &class.id).await?,
        inspections: inspections::of_class(&mut *tx, &class.id).await?,
        class,
    };
    tx.rollback().await?;
    Ok(snapshot)
}

/// GetLedger: the whole ledger of a class as one stream (CLASS-LEDGER).
pub async fn get_ledger(
    s: &Supervision,
    call: Call<GetLedgerRequest>,
) -> Result<qiancheng_api::ResponseStream<GetLedgerResponse>, Error> {
    let scope = access::read_scope(&call.principal)?;
    let class_id = access::id_of(&call.message.class, "classes", "class")?;
    let whole = access::sees_personal_data(&call.principal);
    let snap = snapshot(s, class_id, &call.message.class, &scope).await?;
    let class = &snap.class;
    let mut parts = Vec::with_capacity(snap.sessions.len() + snap.trainees.len() + 8);
    parts.push(GetLedgerResponse {
        header: Some(LedgerHeader {
            class: Some(class.to_proto()),
            masked: !whole,
            exported_micros: qiancheng_platform::time::now_micros(),
            sessions: int32(i64::try_from(snap.sessions.len()).unwrap_or(i64::MAX)),
            trainees: int32(i64::try_from(snap.trainees.len()).unwrap_or(i64::MAX)),
        }),
        ..Default::default()
    });
    for session in &snap.sessions {
        parts.push(GetLedgerResponse { session: Some(session.to_proto()), ..Default::default() });
    }
    let day_of: HashMap<&str, (chrono::NaiveDate, &str)> =
        snap.sessions.iter().map(|r| (r.id.as_str(), (r.held_on, r.id.as_str()))).collect();
    let mut marks_of: HashMap<&str, Vec<&attendance::AttendanceRow>> = HashMap::new();
    for mark in &snap.marks {
        marks_of.entry(mark.trainee_id.as_str()).or_default().push(mark);
    }
    let mut evaluations_of: HashMap<&str, Vec<&EvaluationRecord>> = HashMap::new();
    for evaluation in &snap.evaluations {
        evaluations_of.entry(evaluation.trainee_id.as_str()).or_default().push(evaluation);
    }
    // Each mark carries the corrections of its session and trainee, oldest first.
    let mut corrections_of: HashMap<(&str, &str), Vec<&attendance::CorrectionRecord>> = HashMap::new();
    for correction in &snap.corrections {
        corrections_of
            .entry((correction.session_id.as_str(), correction.trainee_id.as_str()))
            .or_default()
            .push(correction);
    }
    let policy = judge::policy_of_class(&s.policy, &class.policy_version, &class.policy_digest)?;
    let mut roster = Vec::new();
    let mut rows = Vec::new();
    let mut completed = 0;
    for person in &snap.trainees {
        let mut marks = marks_of.remove(person.id.as_str()).unwrap_or_default();
        marks.sort_by_key(|m| day_of.get(m.session_id.as_str()).copied());
        let attended: i64 = marks.iter().map(|m| m.hours).sum();
        let theirs = evaluations_of.remove(person.id.as_str()).unwrap_or_default();
        let shown = if whole { unsealed(&s.pii, &person.sealed)? } else { person.person_masked() };
        if person.on_roster() {
            // CLASS-LEDGER matches rows to the roster by trainee; names are shown masked in its reasons.
            roster.push(RosterEntry { id_number: person.id.clone(), name: person.name_masked.clone() });
            let completion_passed = match person.state {
                TraineeState::Withdrawn => Some(false),
                _ => person.completion.as_ref().map(|d| d.outcome),
            };
            rows.push(LedgerRow {
                id_number: person.id.clone(),
                attended_hours: Some(u32::try_from(attended.max(0)).unwrap_or(u32::MAX)),
                completion_passed,
                skill_evaluation_taken: !theirs.is_empty(),
                skill_evaluation: theirs.first().map(|e| SkillEvaluationRecord {
                    certificate_number: e.certificate_number.clone(),
                    level: e.level,
                    issuer: e.issuer.clone(),
                    issued_on: e.issued_on,
                }),
            });
        }
        if person.state == TraineeState::Completed {
            completed += 1;
        }
        let attendance = marks
            .iter()
            .map(|m| {
                let corrections = corrections_of.remove(&(m.session_id.as_str(), m.trainee_id.as_str()));
                mark_to_proto(&class.id, m, corrections.unwrap_or_default())
            })
            .collect();
        let row = LedgerTrainee {
            trainee: Some(person.to_proto(Audience::of(&call.principal))),
            person: Some(shown),
            attendance,
            attended_hours: int32(attended),
            class_hours: int32(i64::from(class.hours())),
            attendance_share_basis_points: basis_points(attended, class.hours()),
            evaluations: theirs
                .iter()
                .map(|e| e.to_proto(&e.counts(&policy, &class.occupation, class.level)))
                .collect(),
            continued: false,
        };
        parts.extend(
            bounded(row, s.ledger_part_bytes)
                .into_iter()
                .map(|part| GetLedgerResponse { trainee: Some(part), ..Default::default() }),
        );
    }
    let people: HashMap<&str, &TraineeRecord> = snap.trainees.iter().map(|t| (t.id.as_str(), t)).collect();
    for change in &snap.changes {
        let person = people.get(change.trainee_id.as_str()).map(|t| t.person_masked());
        parts.push(GetLedgerResponse { roster_change: Some(change.to_proto(person)), ..Default::default() });
    }
    for correction in &snap.corrections {
        parts.push(GetLedgerResponse { correction: Some(correction.to_proto()), ..Default::default() });
    }
    for inspection in &snap.inspections {
        parts.push(GetLedgerResponse { inspection: Some(inspection.to_proto()), ..Default::default() });
    }
    let ledger = class_ledger(&ClassLedger { class_id: class.id.clone(), roster, rows });
    parts.push(GetLedgerResponse {
        summary: Some(LedgerSummary {
            ledger: Some((&ledger).into_proto()),
            roster_size: int32(class.roster_size),
            attendance_records: int32(i64::try_from(snap.marks.len()).unwrap_or(i64::MAX)),
            completed,
        }),
        ..Default::default()
    });
    Ok(Box::pin(tokio_stream::iter(parts.into_iter().map(Ok))))
}

/// ListProjectTrainees: the roster of a project over all its classes, for the outcome and subsidy
/// services (the contract on `ProjectTrainee`).
pub async fn list_project_trainees(
    s: &Supervision,
    call: Call<ListProjectTraineesRequest>,
) -> Result<ListProjectTraineesResponse, Error> {
    call.principal.require_any(&[Role::Service, Role::CityAdmin, Role::Auditor])?;
    access::require_roster_reader(&call.principal, &s.options().roster_readers)?;
    let whole = call.principal.has_any(&[Role::Service, Role::CityAdmin]);
    let m = &call.message;
    let project_id = convert::resource_id(&m.project, "projects").map_err(|e| Error::invalid_value("project", e))?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("projectTrainees|{project_id}"))?;
    let pool = s.db.pool();
    let (people, next_page_token) = trainee::page_of_project(&s.db, project_id, &page).await?;
    // Only the classes and the attendance of the people on this page are read.
    let class_ids: HashSet<&str> = people.iter().map(|t| t.class_id.as_str()).collect();
    let mut class_of = HashMap::new();
    for id in class_ids {
        if let Some(class) = classes::find(pool, id).await? {
            class_of.insert(class.id.clone(), class);
        }
    }
    let ids: Vec<&str> = people.iter().map(|t| t.id.as_str()).collect();
    let totals = attendance::totals_of(pool, &ids).await?;
    let mut policy_of = HashMap::new();
    for class in class_of.values() {
        policy_of
            .insert(class.id.clone(), judge::policy_of_class(&s.policy, &class.policy_version, &class.policy_digest)?);
    }
    let mut evaluations_of: HashMap<String, Vec<EvaluationRecord>> = HashMap::new();
    for evaluation in evaluations::of_trainees(pool, &ids).await? {
        evaluations_of.entry(evaluation.trainee_id.clone()).or_default().push(evaluation);
    }
    let mut trainees = Vec::with_capacity(people.len());
    for person in &people {
        let Some(class) = class_of.get(&person.class_id) else { continue };
        let shown = if whole { unsealed(&s.pii, &person.sealed)? } else { person.person_masked() };
        trainees.push(ProjectTrainee {
            name: person.name(),
            class: class.name(),
            class_first_day: Some(convert::date_to_proto(class.first_day)),
            class_last_day: Some(convert::date_to_proto(class.last_day)),
            class_filed_on: Some(convert::date_to_proto(class.filed_on)),
            class_state: class.state.into_proto(),
            policy_version: class.policy_version.clone(),
            policy_digest: class.policy_digest.clone(),
            person: Some(shown),
            person_hash: current_hash(&s.pii, person)?,
            judged_group: person.judged_group.into_proto(),
            key_project: class.key_project.as_ref().map(classes::key_project_to_proto),
            state: person.state.into_proto(),
            added_on: Some(convert::date_to_proto(person.added_on)),
            added_in_version: int32(person.added_version),
            removed_in_version: int32(person.removed_version),
            eligibility: Some(person.eligibility.to_proto(Audience::of(&call.principal))),
            completed: class.state == ClassState::Completed && person.state == TraineeState::Completed,
            completion: person.completion.as_ref().map(|d| d.to_proto(Audience::of(&call.principal))),
            attended_hours: int32(totals.get(&person.id).copied().unwrap_or(0)),
            class_hours: int32(i64::from(class.hours())),
            evaluations: match (evaluations_of.get(&person.id), policy_of.get(&class.id)) {
                (Some(theirs), Some(policy)) => {
                    theirs.iter().map(|e| e.to_proto(&e.counts(policy, &class.occupation, class.level))).collect()
                }
                _ => Vec::new(),
            },
            terminated_on: person.terminated_on.into_proto(),
            termination_reason: person.termination_reason.clone(),
            occupation_code: class.occupation.as_str().to_owned(),
            project_skill_level: convert::skill_level_to_proto(Some(class.level)),
            ..person.declared.shown()
        });
    }
    Ok(ListProjectTraineesResponse { trainees, next_page_token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(marks: usize) -> LedgerTrainee {
        LedgerTrainee {
            trainee: Some(Trainee { name: "classes/c/trainees/t".into(), ..Default::default() }),
            attendance: (0..marks)
                .map(|i| AttendanceMark {
                    session: format!("classes/c/sessions/s{i:04}"),
                    hours: 2,
                    event_id: format!("event-{i:04}"),
                    device: "gate-1".into(),
                    ..Default::default()
                })
                .collect(),
            attended_hours: int32(i64::try_from(marks).expect("n") * 2),
            ..Default::default()
        }
    }

    #[test]
    fn a_row_that_fits_is_one_part() {
        let whole = row(10);
        assert_eq!(bounded(whole.clone(), LEDGER_PART_BYTES), vec![whole]);
    }

    #[test]
    fn a_larger_row_goes_on_in_continuation_parts_within_the_budget_and_in_order() {
        let whole = row(1000);
        let budget = 4_096;
        let parts = bounded(whole.clone(), budget);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.encoded_len() <= budget), "every part within the budget");
        assert!(!parts[0].continued && parts[1..].iter().all(|p| p.continued));
        assert_eq!(parts[0].attended_hours, whole.attended_hours);
        assert!(parts[1..].iter().all(|p| p.attended_hours == 0 && p.person.is_none()), "only the marks go on");
        let name = |p: &LedgerTrainee| p.trainee.clone().expect("named").name;
        assert!(parts.iter().all(|p| name(p) == "classes/c/trainees/t"));
        let marks: Vec<AttendanceMark> = parts.into_iter().flat_map(|p| p.attendance).collect();
        assert_eq!(marks, whole.attendance, "every mark once, in order");
    }
}
