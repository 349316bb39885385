//! The real-name roster (实名制花名册, 七(三) 凡补必进、不进不补, ELIG-REALNAME): its versions,
//! changes and withdrawals.
//!
//! Until the class's first day its provider adds and removes trainees at once. From the first day
//! the roster is locked (`roster_change_days_after_start` = 0): a change waits for an officer of
//! the class's county, who approves or rejects it with a note. Every applied change makes a new
//! roster version and keeps the earlier ones (a trainee records the versions that added and
//! removed them), so the roster as it was at any version can be read back. An addition is judged
//! as a filing's entry is (ELIG-*, [`crate::judge`]) and counted against CLASS-HEADCOUNT, when
//! proposed and again when approved. A late addition approved by an officer is on the roster for
//! supervision; its stored decision says what ELIG-REALNAME makes of it for the subsidy.

use std::collections::HashMap;

use chrono::NaiveDate;
use qiancheng_api::convert::{self, FromProto as _};
use qiancheng_api::supervision::*;
use qiancheng_domain::lifecycle::{Lifecycle as _, RosterChangeState as ChangeState, TraineeState as State};
use qiancheng_domain::policy::class::class_headcount;
use qiancheng_platform::error::Violations;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::new_id;
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Stamp};
use serde_json::json;

use crate::Supervision;
use crate::access::{self, Scope};
use crate::judge::{self, Candidate, Project};
use crate::store::StoredDecision;
use crate::store::change_decision::ChangeDecisionsRecord;
use crate::store::class::{self as classes, ClassRecord};
use crate::store::class_change::{self as feed, ChangeKind as FeedKind};
use crate::store::roster_change::{self as changes, ChangeKind, RosterChangeRecord};
use crate::store::trainee::{self, TraineeRecord};

/// ListTrainees: the roster as it is, or as it was at an earlier version.
pub async fn list_trainees(s: &Supervision, call: Call<ListTraineesRequest>) -> Result<ListTraineesResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let class = access::class_in(s.db.pool(), &scope, &m.class, "class").await?;
    let version = match i64::from(m.roster_version) {
        0 => class.roster_version,
        v if (1..=class.roster_version).contains(&v) => v,
        _ => {
            return Err(Error::invalid(
                "roster_version",
                "ROSTER_VERSION",
                format!("the roster has versions 1 to {}", class.roster_version),
            ));
        }
    };
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("trainees|{}|{version}", class.id))?;
    let (records, next_page_token) = trainee::page_at_version(&s.db, &class.id, version, &page).await?;
    Ok(ListTraineesResponse {
        trainees: records.iter().map(|t| t.to_proto(Audience::of(&call.principal))).collect(),
        next_page_token,
        roster_version: i32::try_from(version).unwrap_or(i32::MAX),
    })
}

/// Takes turns on the class's project (CLASS-HEADCOUNT) and the class (its roster), in the one
/// order every writer uses, and reads the class again under them.
async fn lock_class(change: &mut Change, scope: &Scope, class_id: &str, name: &str) -> Result<ClassRecord, Error> {
    let class = access::class_by_id(&mut *change.tx, scope, class_id, name).await?;
    change.serialize_on(&format!("project/{}", class.project_id)).await?;
    change.serialize_on(&format!("class/{}", class.id)).await?;
    let class = access::class_by_id(&mut *change.tx, scope, class_id, name).await?;
    class.require_running("have its roster changed")?;
    Ok(class)
}

/// Judges `candidate` for `class` on `today`, refusing them with the rule that keeps them off the
/// roster (its reason as `audience` may read it), and checks that one more trainee fits the
/// project's approved headcount.
async fn admit(
    s: &Supervision,
    change: &mut Change,
    class: &ClassRecord,
    (candidate, audience): (&Candidate, Audience),
    today: NaiveDate,
) -> Result<judge::Judged, Error> {
    let history = judge::history_of(change, &[candidate]).await?;
    let facts = class.facts();
    let project = Project::of(class, &facts);
    let policy = judge::policy_of_class(&s.policy, &class.policy_version, &class.policy_digest)?;
    let judged = judge::judge(&policy, &project, today, candidate, &history);
    if let Some(rule) = judged.refusal.clone() {
        return Err(Error::Refused(audience.rule(&rule)));
    }
    // CLASS-HEADCOUNT: every class of the project, this one with its current roster.
    let mut existing = classes::headcounts(&mut change.tx, &class.project_id, &class.id).await?;
    existing.push(u32::try_from(class.roster_size).unwrap_or(u32::MAX));
    Error::unless_passed(class_headcount(class.approved_headcount, &existing, 1))?;
    Ok(judged)
}

/// Moves the roster of `class` on by one version and stores the class.
async fn next_version(change: &mut Change, class: &mut ClassRecord) -> Result<i64, Error> {
    class.roster_version += 1;
    class.stamp.touch();
    classes::update(&mut change.tx, class).await?;
    Ok(class.roster_version)
}

/// ChangeRoster: adds or removes a trainee, at once before the first day, as a change waiting
/// for an officer from it.
pub async fn change_roster(s: &Supervision, call: Call<ChangeRosterRequest>) -> Result<ChangeRosterResponse, Error> {
    let scope = access::provider_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let class_id = v.value("class", convert::resource_id(&m.class, "classes"));
    let reason = m.reason.trim().to_owned();
    let adding = m.add.as_ref().and_then(|input| judge::candidate(input, "add", &s.pii, &mut v));
    let removing = match access::child_of(&m.remove, "trainees", "remove") {
        _ if m.remove.is_empty() => None,
        Ok((class, trainee)) if Some(class) == class_id => Some(trainee),
        _ => {
            v.add("remove", "RESOURCE-NAME", "name a trainee of the class: classes/{class}/trainees/{trainee}");
            None
        }
    };
    if m.add.is_some() != m.remove.is_empty() {
        v.add("add", "REQUIRED", "give exactly one of add and remove");
    }
    v.finish()?;
    let Some(class_id) = class_id else {
        return Err(Error::invalid("class", "REQUIRED", "a class is required"));
    };
    let today = s.today();
    let actor = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let mut class = lock_class(change, &scope, class_id, &m.class).await?;
        // ELIG-REALNAME: from the first day the roster is locked; changes wait for an officer.
        let started = today >= class.first_day;
        let mut record = RosterChangeRecord {
            id: new_id(),
            class_id: class.id.clone(),
            kind: ChangeKind::Add,
            trainee_id: String::new(),
            reason: reason.clone(),
            state: if started { ChangeState::Pending } else { ChangeState::Applied },
            proposed_by: actor.clone(),
            decided_by: String::new(),
            decision_note: String::new(),
            roster_version: 0,
            stamp: Stamp::new(),
        };
        let person = if let Some(candidate) = &adding {
            if trainee::person_in_class(&mut change.tx, &class.id, &candidate.hashes).await? {
                return Err(Error::exists("ROSTER_DUPLICATE", "the person is on this roster already"));
            }
            let judged = admit(s, change, &class, (candidate, Audience::of(&call.principal)), today).await?;
            // `admit` judged under the set the class was filed under, whose digest the class keeps.
            let decision = StoredDecision::of(&judged.decision, judged.decision.outcome.eligible, &class.policy_digest);
            let state = if started { State::Proposed } else { State::Active };
            let mut person =
                candidate.trainee(&s.pii, &class.id, (state, 0), (judged.decision.outcome.group, decision), today)?;
            if !started {
                person.added_version = next_version(change, &mut class).await?;
                record.roster_version = person.added_version;
            }
            trainee::insert_many(&mut change.tx, std::slice::from_ref(&person)).await?;
            person
        } else {
            let trainee_id = removing.unwrap_or_default();
            let mut person = trainee::find(&mut *change.tx, &class.id, trainee_id)
                .await?
                .ok_or_else(|| Error::NotFound(m.remove.clone()))?;
            person.state.require(&[State::Active], "be removed from the roster")?;
            if changes::pending_for(&mut change.tx, &person.id).await? {
                return Err(Error::precondition(
                    "ROSTER_CHANGE_PENDING",
                    "a change of this trainee waits for an officer",
                ));
            }
            record.kind = ChangeKind::Remove;
            if !started {
                person.state = person.state.to(State::Removed)?;
                person.removed_version = next_version(change, &mut class).await?;
                person.stamp.touch();
                trainee::update(&mut change.tx, &person).await?;
                record.roster_version = person.removed_version;
            }
            person
        };
        record.trainee_id = person.id.clone();
        changes::insert(&mut change.tx, &record).await?;
        // An addition keeps the decision made now beside the one an officer's approval makes.
        let decisions = (record.kind == ChangeKind::Add).then(|| ChangeDecisionsRecord {
            change_id: record.id.clone(),
            class_id: class.id.clone(),
            at_proposal: Some(person.eligibility.clone()),
            at_approval: None,
            stamp: Stamp::new(),
        });
        if let Some(decisions) = &decisions {
            record::insert(&mut change.tx, decisions).await?;
        }
        if record.state == ChangeState::Applied {
            feed::note(change, FeedKind::RosterChanged, &class, Some(&person.id), today, &actor).await?;
        }
        crate::watch::after_roster(s, change, &class).await?;
        change.audit_under(
            &class.policy_version,
            if record.kind == ChangeKind::Add { "roster.add" } else { "roster.remove" },
            record.name(),
            json!({ "class": class.name(), "trainee": person.name(), "person": person.id_number_masked,
                "state": record.state.code(), "roster_version": record.roster_version, "reason": record.reason,
                "eligibility": person.eligibility.rules.iter().map(|r| json!({ "code": r.code, "passed": r.passed }))
                    .collect::<Vec<_>>() }),
        );
        Ok(ChangeRosterResponse {
            change: Some(with_decisions(
                record.to_proto(Some(person.person_masked())),
                decisions.as_ref(),
                Audience::of(&call.principal),
            )),
            trainee: Some(person.to_proto(Audience::of(&call.principal))),
        })
    })
    .await
}

/// DecideRosterChange: an officer of the class's county approves or rejects a pending change.
pub async fn decide_roster_change(
    s: &Supervision,
    call: Call<DecideRosterChangeRequest>,
) -> Result<DecideRosterChangeResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let (class_id, change_id) = access::child_of(&m.name, "rosterChanges", "name")?;
    let note = m.note.trim().to_owned();
    let today = s.today();
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let class_name = format!("classes/{class_id}");
        let mut class = lock_class(change, &scope, class_id, &class_name).await?;
        let mut record = changes::find(&mut *change.tx, &class.id, change_id)
            .await?
            .ok_or_else(|| Error::NotFound(m.name.clone()))?;
        record.stamp.check(&m.etag)?;
        record.state = record.state.to(if m.approve { ChangeState::Applied } else { ChangeState::Rejected })?;
        let mut person = trainee::find(&mut *change.tx, &class.id, &record.trainee_id)
            .await?
            .ok_or_else(|| Error::corrupt("a roster change names no trainee"))?;
        // The proposal's decision, kept beside the approval's (a change proposed before they were
        // kept has it on the trainee until now).
        let mut decisions = match record::find::<ChangeDecisionsRecord>(&mut *change.tx, record.id.as_str()).await? {
            Some(found) => Some(found),
            None if record.kind == ChangeKind::Add => {
                let kept = ChangeDecisionsRecord {
                    change_id: record.id.clone(),
                    class_id: class.id.clone(),
                    at_proposal: Some(person.eligibility.clone()),
                    at_approval: None,
                    stamp: Stamp::new(),
                };
                record::insert(&mut change.tx, &kept).await?;
                Some(kept)
            }
            None => None,
        };
        match (record.kind, m.approve) {
            (ChangeKind::Add, true) => {
                let candidate = judge::stored_candidate(&s.pii, &person)?;
                let judged = admit(s, change, &class, (&candidate, Audience::of(&call.principal)), today).await?;
                person.eligibility =
                    StoredDecision::of(&judged.decision, judged.decision.outcome.eligible, &class.policy_digest);
                if let Some(decisions) = decisions.as_mut() {
                    decisions.at_approval = Some(person.eligibility.clone());
                    decisions.stamp.touch();
                    record::update(&mut change.tx, decisions).await?;
                }
                person.judged_group = judged.decision.outcome.group;
                person.state = person.state.to(State::Active)?;
                person.added_on = today;
                person.added_version = next_version(change, &mut class).await?;
                record.roster_version = person.added_version;
            }
            (ChangeKind::Add, false) => person.state = person.state.to(State::Rejected)?,
            (ChangeKind::Remove, true) => {
                person.state = person.state.to(State::Removed)?;
                person.removed_version = next_version(change, &mut class).await?;
                record.roster_version = person.removed_version;
            }
            (ChangeKind::Remove, false) => {}
        }
        if record.kind != ChangeKind::Remove || m.approve {
            person.stamp.touch();
            trainee::update(&mut change.tx, &person).await?;
        }
        record.decided_by = officer.clone();
        record.decision_note = note.clone();
        record.stamp.touch();
        changes::update(&mut change.tx, &record).await?;
        if m.approve {
            feed::note(change, FeedKind::RosterChanged, &class, Some(&person.id), today, &officer).await?;
        }
        crate::watch::after_roster(s, change, &class).await?;
        change.audit_under(
            &class.policy_version,
            if m.approve { "roster.approve" } else { "roster.reject" },
            record.name(),
            json!({ "class": class.name(), "trainee": person.name(), "person": person.id_number_masked,
                "roster_version": record.roster_version, "note": note }),
        );
        Ok(DecideRosterChangeResponse {
            change: Some(with_decisions(
                record.to_proto(Some(person.person_masked())),
                decisions.as_ref(),
                Audience::of(&call.principal),
            )),
            trainee: Some(person.to_proto(Audience::of(&call.principal))),
        })
    })
    .await
}

/// A roster change as the API shows it, with its eligibility decisions at the proposal and at
/// the approval.
fn with_decisions(
    mut shown: RosterChange,
    decisions: Option<&ChangeDecisionsRecord>,
    audience: Audience,
) -> RosterChange {
    if let Some(d) = decisions {
        shown.eligibility_at_proposal = d.at_proposal.as_ref().map(|d| d.to_proto(audience));
        shown.eligibility_at_approval = d.at_approval.as_ref().map(|d| d.to_proto(audience));
    }
    shown
}

/// ListRosterChanges: a class's roster changes.
pub async fn list_roster_changes(
    s: &Supervision,
    call: Call<ListRosterChangesRequest>,
) -> Result<ListRosterChangesResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let state = ChangeState::from_proto(m.state).map_err(|e| Error::invalid_value("state", e))?;
    let class = access::class_in(s.db.pool(), &scope, &m.class, "class").await?;
    let page = PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("rosterChanges|{}|{}", class.id, state.map_or("", |s| s.code())),
    )?;
    let (records, next_page_token) = changes::page(&s.db, &class.id, state, &page).await?;
    let named: Vec<&str> = records.iter().map(|r| r.trainee_id.as_str()).filter(|id| !id.is_empty()).collect();
    let people: HashMap<String, TraineeRecord> =
        trainee::with_ids(s.db.pool(), &named).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
    let ids = records.iter().map(|r| r.id.as_str());
    let decisions: HashMap<String, ChangeDecisionsRecord> =
        record::all::<ChangeDecisionsRecord>(s.db.pool(), Filter::new().among("d.change_id", ids), "")
            .await?
            .into_iter()
            .map(|d| (d.change_id.clone(), d))
            .collect();
    Ok(ListRosterChangesResponse {
        changes: records
            .iter()
            .map(|r| {
                let shown = r.to_proto(people.get(&r.trainee_id).map(TraineeRecord::person_masked));
                with_decisions(shown, decisions.get(&r.id), Audience::of(&call.principal))
            })
            .collect(),
        next_page_token,
    })
}

/// TerminateTrainee: a trainee withdrew (退训) on a day of the class, with the reason.
pub async fn terminate_trainee(
    s: &Supervision,
    call: Call<TerminateTraineeRequest>,
) -> Result<TerminateTraineeResponse, Error> {
    let scope = access::record_scope(&call.principal)?;
    let m = &call.message;
    let (class_id, trainee_id) = access::child_of(&m.name, "trainees", "name")?;
    let reason = m.reason.trim().to_owned();
    let on = convert::date(m.terminated_on.as_ref()).map_err(|e| Error::invalid_value("terminated_on", e))?;
    let today = s.today();
    let on = on.unwrap_or(today);
    let actor = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let class_name = format!("classes/{class_id}");
        let class = lock_class(change, &scope, class_id, &class_name).await?;
        if on > today || on < class.first_day || on > class.last_day {
            return Err(Error::invalid(
                "terminated_on",
                "TERMINATION_DATE",
                format!(
                    "a trainee withdraws on a day of the class ({} to {}), not after today; before the first day, \
                     remove them from the roster instead",
                    class.first_day, class.last_day
                ),
            ));
        }
        let mut person = trainee::find(&mut *change.tx, &class.id, trainee_id)
            .await?
            .ok_or_else(|| Error::NotFound(m.name.clone()))?;
        person.stamp.check(&m.etag)?;
        person.state = person.state.to(State::Withdrawn)?;
        person.terminated_on = Some(on);
        person.termination_reason = reason.clone();
        person.stamp.touch();
        trainee::update(&mut change.tx, &person).await?;
        feed::note(change, FeedKind::TraineeTerminated, &class, Some(&person.id), today, &actor).await?;
        change.audit_under(
            &class.policy_version,
            "trainee.terminate",
            person.name(),
            json!({ "terminated_on": on.to_string(), "reason": reason }),
        );
        Ok(TerminateTraineeResponse { trainee: Some(person.to_proto(Audience::of(&call.principal))) })
    })
    .await
}
