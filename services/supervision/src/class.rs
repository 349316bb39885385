//! Classes (班次) and their filing (开班备案, 二(三) 开班备案、过程监督, 七(三)): CLASS-FILING,
//! CLASS-HOURS and CLASS-HEADCOUNT, the county's acknowledgement and stopping a class.
//!
//! A provider files a class under one of its approved projects with its real-name roster.
//! Supervision asks selection about the project and the provider first (no transaction is open
//! while it waits), then, inside the write, judges every roster entry (ELIG-*, [`crate::judge`])
//! and the filing, stores the class and the entries that passed, each with its decision, and
//! lists the refused entries with their rules. Concurrent filings of one project take turns
//! (CLASS-HEADCOUNT), as do changes naming the same person (ELIG-OVERLAP).

use std::collections::HashSet;

use qiancheng_api::convert::{self, FromProto as _};
use qiancheng_api::supervision::*;
use qiancheng_domain::lifecycle::{ClassState as State, Lifecycle as _};
use qiancheng_domain::policy::class::{ClassFiling, class_headcount, evaluate_class_filing};
use qiancheng_domain::policy::facts::{KeyProject as KeyProjectFacts, KeyProjectLibrary as Library};
use qiancheng_domain::policy::project::{CatalogItem as CatalogFacts, TrainingMode as Mode};
use qiancheng_domain::{OccupationCode, RegionCode};
use qiancheng_platform::error::Violations;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::new_id;
use qiancheng_platform::{Call, Error, Stamp, write};
use serde_json::json;

use crate::Supervision;
use crate::access::{self, Scope};
use crate::judge::{self, Candidate, Project};
use crate::peer;
use crate::store::StoredDecision;
use crate::store::class::{self as store, ClassRecord, SelectionTold, TeacherRecord};
use crate::store::class_change::{self as feed, ChangeKind};
use crate::store::class_return::{self as returns, ClassReturnRecord};
use crate::store::trainee::{self, TraineeRecord};

/// The key project of a pre-hire class, its fields checked by their declared rules.
fn key_project(input: &KeyProject, v: &mut Violations) -> Option<KeyProjectFacts> {
    let library = v.value("class.key_project.library", Library::from_proto(input.library)).flatten();
    Some(KeyProjectFacts {
        enterprise: input.enterprise.trim().to_owned(),
        library,
        manufacturing: input.manufacturing,
        expected_production_on: convert::date(input.expected_production_on.as_ref()).ok().flatten()?,
    })
}

/// A filing, validated at the edge.
struct Filing {
    project_id: String,
    title: String,
    first_day: chrono::NaiveDate,
    last_day: chrono::NaiveDate,
    theory_hours: u32,
    practice_hours: u32,
    mode: Mode,
    venue: String,
    teachers: Vec<TeacherRecord>,
    key_project: Option<KeyProjectFacts>,
    roster: Vec<Candidate>,
}

fn filing(s: &Supervision, m: &CreateClassRequest) -> Result<Filing, Error> {
    let input = m.class.clone().unwrap_or_default();
    let mut v = Violations::default();
    // The declared rules of the class and its roster (an update's merged class is checked here too).
    v.declared(m, "");
    let project_id = v.value("class.project", convert::resource_id(&input.project, "projects"));
    let mode = v.value("class.mode", Mode::required(input.mode));
    let teachers = input
        .teachers
        .iter()
        .map(|t| TeacherRecord { name: t.name.trim().to_owned(), qualification: t.qualification.trim().to_owned() })
        .collect();
    let key_project = input.key_project.as_ref().and_then(|k| key_project(k, &mut v));
    let roster: Vec<Candidate> = m
        .roster
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| judge::candidate(entry, &format!("roster[{i}]"), &s.pii, &mut v))
        .collect();
    let day = |d: Option<&qiancheng_api::types::Date>| convert::date(d).ok().flatten();
    let (first_day, last_day) = (day(input.first_day.as_ref()), day(input.last_day.as_ref()));
    let hours = |h: i32| u32::try_from(h).ok();
    let (theory_hours, practice_hours) = (hours(input.theory_hours), hours(input.practice_hours));
    v.finish()?;
    let missing = || Error::invalid("class", "REQUIRED", "the class is incomplete");
    Ok(Filing {
        project_id: project_id.ok_or_else(missing)?.to_owned(),
        title: input.title.trim().to_owned(),
        first_day: first_day.ok_or_else(missing)?,
        last_day: last_day.ok_or_else(missing)?,
        theory_hours: theory_hours.ok_or_else(missing)?,
        practice_hours: practice_hours.ok_or_else(missing)?,
        mode: mode.ok_or_else(missing)?,
        venue: input.venue.trim().to_owned(),
        teachers,
        key_project,
        roster,
    })
}

/// The class as CLASS-FILING judges it on `today` with `roster_size` people (a filing, or a
/// returned filing corrected: the lead counts from the day of the refiling). Selection has said
/// the project is approved and the provider qualified before this is asked.
fn filing_of(class: &ClassRecord, today: chrono::NaiveDate, roster_size: u32) -> ClassFiling {
    ClassFiling {
        filed_on: today,
        first_day: class.first_day,
        last_day: class.last_day,
        project_approved: true,
        provider_qualified: true,
        theory_hours: class.theory_hours,
        practice_hours: class.practice_hours,
        venue_stated: !class.venue.is_empty(),
        teachers_named: !class.teachers.is_empty(),
        roster_size,
        mode: Some(class.mode),
    }
}

/// PROV-DISQUALIFIED, PROJ-SELECTION: a provider or project selection does not hold in good
/// standing is refused by selection's own rule, in its words.
fn in_good_standing(told: &peer::Told) -> Result<(), Error> {
    if told.standing.good_standing {
        return Ok(());
    }
    let rule = told
        .standing
        .decision
        .iter()
        .flat_map(|d| d.rules.iter())
        .find(|r| !r.passed)
        .map(selection_rule)
        .unwrap_or_else(|| {
            qiancheng_domain::policy::RuleResult::fail(
                "PROV-DISQUALIFIED",
                "承训机构或项目不在良好状态",
                "the provider or the project is not in good standing",
            )
        });
    Err(Error::Refused(rule))
}

/// A rule as selection explained it.
fn selection_rule(rule: &qiancheng_api::selection::RuleResult) -> qiancheng_domain::policy::RuleResult {
    qiancheng_domain::policy::RuleResult::carried(&rule.code, rule.passed, &rule.reason_zh, &rule.reason_en)
}

/// What selection said, as the class keeps it, and the catalog item as the rules see it.
fn told(
    told: &peer::Told,
) -> Result<(SelectionTold, OccupationCode, qiancheng_domain::SkillLevel, RegionCode, CatalogFacts), Error> {
    let project = &told.project;
    let occupation = OccupationCode::parse(&project.occupation_code)
        .map_err(|_| Error::corrupt("selection's project occupation"))?;
    let level = convert::required_skill_level(project.skill_level)
        .map_err(|_| Error::corrupt("selection's project skill level"))?;
    let region = RegionCode::parse(&project.training_region_code)
        .or_else(|_| RegionCode::parse(&project.region_code))
        .map_err(|_| Error::corrupt("selection's project county"))?;
    let item_mode = Mode::from_proto(told.item.mode).ok().flatten();
    let item_hours = u32::try_from(told.item.hours).unwrap_or(0);
    let kept = SelectionTold {
        occupation_name: project.occupation_name.clone(),
        training_region_code: project.training_region_code.clone(),
        catalog_item: told.item.name.clone(),
        catalog_hours: item_hours,
        catalog_mode: item_mode,
        good_standing: told.standing.good_standing,
        standing_rules: told.standing.decision.iter().flat_map(|d| d.rules.iter().map(selection_rule)).collect(),
    };
    let item = CatalogFacts {
        occupation: occupation.clone(),
        occupation_name: project.occupation_name.clone(),
        level,
        headcount: u32::try_from(told.item.headcount).unwrap_or(0),
        skill_requirements: told.item.skill_requirements.clone(),
        content: told.item.content.clone(),
        hours: item_hours,
        // CLASS-HOURS: an item without a mode cannot be matched; the class's own mode stands in.
        mode: item_mode.unwrap_or(Mode::Offline),
        demand: String::new(),
    };
    Ok((kept, occupation, level, region, item))
}

/// CreateClass: files a class with its real-name roster (CLASS-FILING, CLASS-HOURS,
/// CLASS-HEADCOUNT; each entry ELIG-*).
pub async fn create_class(s: &Supervision, call: Call<CreateClassRequest>) -> Result<CreateClassResponse, Error> {
    let org = access::provider_org(&call.principal)?;
    let filing = filing(s, &call.message)?;
    let told_by_selection = peer::ask_about_project(s, &format!("projects/{}", filing.project_id), &org).await?;
    in_good_standing(&told_by_selection)?;
    let (kept, occupation, level, region, item) = told(&told_by_selection)?;
    let today = s.today();
    let policy = s.policy.clone();
    let digest = policy.digest();
    let stamp = Stamp::new();
    let mut class = ClassRecord {
        id: new_id(),
        project_id: filing.project_id.clone(),
        provider_credit_code: org.clone(),
        region,
        title: filing.title.clone(),
        first_day: filing.first_day,
        last_day: filing.last_day,
        theory_hours: filing.theory_hours,
        practice_hours: filing.practice_hours,
        mode: filing.mode,
        venue: filing.venue.clone(),
        teachers: filing.teachers.clone(),
        key_project: filing.key_project.clone(),
        state: State::Filed,
        roster_version: 1,
        roster_size: 0,
        filed_on: today,
        occupation,
        level,
        approved_headcount: u32::try_from(told_by_selection.project.approved_headcount).unwrap_or(0),
        told: kept,
        told_micros: told_by_selection.told_micros,
        filing_decision: StoredDecision::default(),
        policy_version: policy.version.clone(),
        policy_digest: digest.clone(),
        acknowledged_by: String::new(),
        acknowledged_micros: 0,
        stopped_on: None,
        stop_reason: String::new(),
        completed_on: None,
        filed_by: call.principal.subject.clone(),
        stamp,
    };
    write::run(s, &call, async |change| {
        // CLASS-HEADCOUNT spans the project's classes; ELIG-OVERLAP each person's. Keys are
        // taken in one order (project, then people sorted) so that writers never wait in a cycle.
        change.serialize_on(&format!("project/{}", class.project_id)).await?;
        let history = judge::history_of(change, &filing.roster.iter().collect::<Vec<_>>()).await?;
        let facts = class.facts();
        let project = Project::of(&class, &facts);
        let mut seen = HashSet::new();
        let mut stored = Vec::new();
        let mut refused = Vec::new();
        for (index, candidate) in filing.roster.iter().enumerate() {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            if !seen.insert(candidate.hash.as_str()) {
                refused.push(RefusedEntry {
                    index,
                    id_number: candidate.id.masked(),
                    reason: "ROSTER_DUPLICATE".to_owned(),
                    message: "the person is on this roster already".to_owned(),
                    decision: None,
                });
                continue;
            }
            let judged = judge::judge(&policy, &project, today, candidate, &history);
            let decision = StoredDecision::of(&judged.decision, judged.decision.outcome.eligible, &digest);
            if let Some(rule) = judged.refusal {
                refused.push(RefusedEntry {
                    index,
                    id_number: candidate.id.masked(),
                    reason: rule.code.clone(),
                    message: {
                        let rule = Audience::of(&call.principal).rule(&rule);
                        format!("{} ({}): {}", rule.reason_en, rule.code, rule.reason_zh)
                    },
                    decision: Some(decision.to_proto(Audience::of(&call.principal))),
                });
                continue;
            }
            let admitted = (qiancheng_domain::lifecycle::TraineeState::Active, class.roster_version);
            stored.push(candidate.trainee(
                &s.pii,
                &class.id,
                admitted,
                (judged.decision.outcome.group, decision),
                today,
            )?);
        }
        let existing = store::headcounts(&mut change.tx, &class.project_id, &class.id).await?;
        let roster_size = u32::try_from(stored.len()).unwrap_or(u32::MAX);
        let filed = filing_of(&class, today, roster_size);
        let mut decision = evaluate_class_filing(&policy, &filed, &item);
        decision.rules.push(class_headcount(class.approved_headcount, &existing, roster_size));
        decision.outcome = decision.rules.iter().all(|r| r.passed);
        if let Some(rule) = decision.first_failure() {
            return Err(Error::Refused(rule.clone()));
        }
        class.filing_decision = StoredDecision::of(&decision, true, &digest);
        class.roster_size = i64::from(roster_size);
        store::insert(&mut change.tx, &class).await?;
        trainee::insert_many(&mut change.tx, &stored).await?;
        crate::watch::after_roster(s, change, &class).await?;
        change.audit(
            "class.file",
            class.name(),
            json!({ "project": class.project_name(), "first_day": class.first_day.to_string(),
                "last_day": class.last_day.to_string(), "trainees": stored.iter().map(|t| &t.id).collect::<Vec<_>>(),
                "refused": refused.iter().map(|r| json!({ "index": r.index, "person": r.id_number, "rule": r.reason }))
                    .collect::<Vec<_>>(),
                "selection_told_micros": class.told_micros, "policy_digest": digest }),
        );
        Ok(CreateClassResponse {
            class: Some(class.to_proto()),
            trainees: stored.iter().map(|t| t.to_proto(Audience::of(&call.principal))).collect(),
            refused,
        })
    })
    .await
}

/// GetClass.
pub async fn get_class(s: &Supervision, call: Call<GetClassRequest>) -> Result<GetClassResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let class = access::class_in(s.db.pool(), &scope, &call.message.name, "name").await?;
    let open = returns::open_of(s.db.pool(), &class.id).await?;
    Ok(GetClassResponse {
        class: Some(Class { open_return: open.as_ref().map(ClassReturnRecord::to_proto), ..class.to_proto() }),
    })
}

/// ListClasses: the classes in the caller's scope.
pub async fn list_classes(s: &Supervision, call: Call<ListClassesRequest>) -> Result<ListClassesResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let project =
        if m.project.is_empty() { Some("") } else { v.value("project", convert::resource_id(&m.project, "projects")) };
    let state = v.value("state", State::from_proto(m.state)).flatten();
    v.finish()?;
    let project = project.unwrap_or_default();
    let state_code = state.map_or("", |s| s.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("classes|{project}|{state_code}"))?;
    let (records, next_page_token) = store::page(&s.db, &scope, project, state, &page).await?;
    Ok(ListClassesResponse { classes: records.iter().map(ClassRecord::to_proto).collect(), next_page_token })
}

/// Moves the class `name` (etag `etag`) inside `scope` to `next`, with `apply` changing what else
/// changes, and notes `action` in the audit log.
async fn transition(
    change: &mut write::Change,
    scope: &Scope,
    (name, etag): (&str, &str),
    next: State,
    action: &str,
    apply: impl FnOnce(&mut ClassRecord),
) -> Result<ClassRecord, Error> {
    // A class's state changes take turns with its roster and attendance (`class/{id}`).
    let id = access::id_of(name, "classes", "name")?;
    change.serialize_on(&format!("class/{id}")).await?;
    let mut class = access::class_in(&mut *change.tx, scope, name, "name").await?;
    class.stamp.check(etag)?;
    class.state = class.state.to(next)?;
    apply(&mut class);
    class.stamp.touch();
    store::update(&mut change.tx, &class).await?;
    let detail = json!({ "state": class.state.code(), "revision": class.stamp.revision,
        "stop_reason": class.stop_reason, "stopped_on": class.stopped_on.map(|d| d.to_string()) });
    change.audit_under(&class.policy_version, action, class.name(), detail);
    Ok(class)
}

/// AcknowledgeClass: an officer of the class's county acknowledges its filing.
pub async fn acknowledge_class(
    s: &Supervision,
    call: Call<AcknowledgeClassRequest>,
) -> Result<AcknowledgeClassResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let id = access::id_of(&m.name, "classes", "name")?;
        if returns::open_of(&mut *change.tx, id).await?.is_some() {
            return Err(Error::precondition(
                "CLASS_RETURNED",
                "the filing was returned to its provider; it is acknowledged once the provider refiles it (UpdateClass)",
            ));
        }
        let class = transition(change, &scope, (&m.name, &m.etag), State::Acknowledged, "class.acknowledge", |c| {
            c.acknowledged_by = officer;
            c.acknowledged_micros = qiancheng_platform::time::now_micros();
        })
        .await?;
        Ok(AcknowledgeClassResponse { class: Some(class.to_proto()) })
    })
    .await
}

/// StopClass: the class's provider or an officer stops (terminates) a running class, with the
/// reason.
pub async fn stop_class(s: &Supervision, call: Call<StopClassRequest>) -> Result<StopClassResponse, Error> {
    let scope = access::record_scope(&call.principal)?;
    let m = &call.message;
    let reason = m.reason.trim().to_owned();
    let today = s.today();
    let actor = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let class = transition(change, &scope, (&m.name, &m.etag), State::Stopped, "class.stop", |c| {
            c.stopped_on = Some(today);
            c.stop_reason = reason.clone();
        })
        .await?;
        // 终止培训: every trainee still active is terminated with the stop's reason.
        let terminated = trainee::terminate_active(&mut change.tx, &class.id, today, &reason).await?;
        change.audit_under(
            &class.policy_version,
            "trainee.terminate",
            class.name(),
            json!({ "terminated_on": today.to_string(), "reason": reason,
                "trainees": terminated.iter().map(|t| t.id.as_str()).collect::<Vec<_>>() }),
        );
        feed::note(change, ChangeKind::ClassStopped, &class, None, today, &actor).await?;
        Ok(StopClassResponse { class: Some(class.to_proto()) })
    })
    .await
}

/// ReturnClass: an officer of the class's county returns a filing not yet acknowledged to its
/// provider, with reasons (退回补正).
pub async fn return_class(s: &Supervision, call: Call<ReturnClassRequest>) -> Result<ReturnClassResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let reasons: Vec<String> = m.reasons.iter().map(|r| r.trim().to_owned()).collect();
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let id = access::id_of(&m.name, "classes", "name")?;
        change.serialize_on(&format!("class/{id}")).await?;
        let mut class = access::class_in(&mut *change.tx, &scope, &m.name, "name").await?;
        class.stamp.check(&m.etag)?;
        class.state.require(&[State::Filed], "be returned")?;
        if returns::open_of(&mut *change.tx, &class.id).await?.is_some() {
            return Err(Error::precondition(
                "CLASS_RETURNED",
                "the filing waits for its provider's correction already",
            ));
        }
        let returned = ClassReturnRecord {
            id: new_id(),
            class_id: class.id.clone(),
            reasons: reasons.clone(),
            returned_by: officer.clone(),
            return_time_micros: qiancheng_platform::time::now_micros(),
            refile_time_micros: 0,
        };
        returns::insert(&mut change.tx, &returned).await?;
        class.stamp.touch();
        store::update(&mut change.tx, &class).await?;
        change.audit_under(&class.policy_version, "class.return", returned.name(), json!({ "reasons": reasons }));
        Ok(ReturnClassResponse { class: Some(Class { open_return: Some(returned.to_proto()), ..class.to_proto() }) })
    })
    .await
}

/// UpdateClass: the provider edits a filing not yet acknowledged, under the rules of filing;
/// a returned filing is refiled.
pub async fn update_class(s: &Supervision, call: Call<UpdateClassRequest>) -> Result<UpdateClassResponse, Error> {
    let org = access::provider_org(&call.principal)?;
    let scope = Scope::Org(org.clone());
    let m = &call.message;
    let mask = qiancheng_platform::mask::UpdateMask::parse(
        m.update_mask.as_ref(),
        &["title", "first_day", "last_day", "theory_hours", "practice_hours", "mode", "venue", "teachers"],
    )?;
    let stored = access::class_in(s.db.pool(), &scope, &m.name, "name").await?;
    // The masked fields onto the filing as stored, then the whole checked as a filing is.
    let mut input = stored.to_proto();
    mask.merge(&mut input, &m.class.clone().unwrap_or_default());
    input.project = stored.project_name();
    let edited = filing(s, &CreateClassRequest { class: Some(input), roster: Vec::new(), request_id: String::new() })?;
    let told_by_selection = peer::ask_about_project(s, &stored.project_name(), &org).await?;
    in_good_standing(&told_by_selection)?;
    let (_, _, _, _, item) = told(&told_by_selection)?;
    let today = s.today();
    write::run(s, &call, async |change| {
        change.serialize_on(&format!("project/{}", stored.project_id)).await?;
        change.serialize_on(&format!("class/{}", stored.id)).await?;
        let mut class = access::class_by_id(&mut *change.tx, &scope, &stored.id, &m.name).await?;
        class.stamp.check(&m.etag)?;
        class.state.require(&[State::Filed], "be edited")?;
        class.title = edited.title.clone();
        class.first_day = edited.first_day;
        class.last_day = edited.last_day;
        class.theory_hours = edited.theory_hours;
        class.practice_hours = edited.practice_hours;
        class.mode = edited.mode;
        class.venue = edited.venue.clone();
        class.teachers = edited.teachers.clone();
        let policy = judge::policy_of_class(&s.policy, &class.policy_version, &class.policy_digest)?;
        // CLASS-FILING counts the lead from the day of the refiling.
        let roster_size = u32::try_from(class.roster_size).unwrap_or(u32::MAX);
        let filed = filing_of(&class, today, roster_size);
        let mut decision = evaluate_class_filing(&policy, &filed, &item);
        let existing = store::headcounts(&mut change.tx, &class.project_id, &class.id).await?;
        decision.rules.push(class_headcount(class.approved_headcount, &existing, roster_size));
        decision.outcome = decision.rules.iter().all(|r| r.passed);
        if let Some(rule) = decision.first_failure() {
            return Err(Error::Refused(rule.clone()));
        }
        // ELIG-*: everyone on the roster is judged again on the new dates.
        let mut people = trainee::of_class(&mut *change.tx, &class.id).await?;
        people.retain(TraineeRecord::on_roster);
        let candidates =
            people.iter().map(|t| judge::stored_candidate(&s.pii, t)).collect::<Result<Vec<_>, Error>>()?;
        let history = judge::history_of(change, &candidates.iter().collect::<Vec<_>>()).await?;
        let facts = class.facts();
        let project = Project::of(&class, &facts);
        for (person, candidate) in people.iter().zip(&candidates) {
            let judged = judge::judge(&policy, &project, person.added_on, candidate, &history);
            if let Some(rule) = judged.refusal {
                let rule = Audience::of(&call.principal).rule(&rule);
                return Err(Error::Refused(qiancheng_domain::policy::RuleResult {
                    reason_en: format!(
                        "{} (trainee {}): {}",
                        rule.reason_en,
                        person.name(),
                        "remove them or keep the dates"
                    ),
                    ..rule
                }));
            }
        }
        class.filing_decision = StoredDecision::of(&decision, true, &class.policy_digest);
        class.stamp.touch();
        store::update(&mut change.tx, &class).await?;
        let refiled = match returns::open_of(&mut *change.tx, &class.id).await? {
            Some(mut open) => {
                open.refile_time_micros = qiancheng_platform::time::now_micros();
                returns::update(&mut change.tx, &open).await?;
                Some(open.name())
            }
            None => None,
        };
        change.audit_under(
            &class.policy_version,
            "class.update",
            class.name(),
            json!({ "first_day": class.first_day.to_string(), "last_day": class.last_day.to_string(),
                "theory_hours": class.theory_hours, "practice_hours": class.practice_hours,
                "venue": class.venue, "teachers": class.teachers.len(), "refiled": refiled }),
        );
        Ok(UpdateClassResponse { class: Some(class.to_proto()) })
    })
    .await
}
