//! Integrity signals computed as events arrive (docs/integrity.md): each write path that can
//! change what a detector sees makes one call here inside its transaction (attendance intake,
//! a roster write, an inspection), so a signal commits with the records it rests on, and
//! [`recompute`] does the whole class again (RecomputeSignals, the backfill). The detectors are
//! pure ([`qiancheng_domain::policy::integrity`]); this module reads their facts ([`crate::store::evidence`]) and
//! records what they observe ([`crate::store::signal`]).
//!
//! A signal is found again by its code, class and subject: a later event updates an open one's
//! evidence, and never touches one an officer has decided. Writers of one signal take turns on
//! it (`signal/{key}`), always after their class and in key order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use qiancheng_platform::Error;
use qiancheng_platform::Stamp;
use qiancheng_platform::record;
use qiancheng_platform::time::new_id;
use qiancheng_platform::write::Change;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::Supervision;
use crate::store::attendance::{AttendanceRow, Source};
use crate::store::class::{self as classes, ClassRecord};
use crate::store::evidence::{self, DeviceSpan};
use crate::store::inspection::{self as inspections, InspectionRecord};
use crate::store::signal::{self as signals, SignalRecord, SignalState};
use qiancheng_domain::policy::integrity::{self, InspectionFact, Observation, Params};

/// After a chunk of check-ins of `class` is stored: SYNC-CHECKIN for each session and device it
/// touched, DEVICE-SHARED for each device around its times, GHOST-SESSION for its days,
/// PERFECT-ATTENDANCE for the class.
pub async fn after_attendance(
    s: &Supervision,
    change: &mut Change,
    class: &ClassRecord,
    rows: &[AttendanceRow],
) -> Result<(), Error> {
    let p = &s.options().signals;
    let mut spans: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.source == Source::Device && !r.device.is_empty()) {
        let span = spans.entry((row.session_id.as_str(), row.device.as_str())).or_insert((i64::MAX, i64::MIN));
        *span = (span.0.min(row.checked_in_micros), span.1.max(row.checked_in_micros));
    }
    let spans: Vec<DeviceSpan> = spans
        .into_iter()
        .map(|((s, d), (first_micros, last_micros))| DeviceSpan {
            session_id: s.to_owned(),
            device: d.to_owned(),
            first_micros,
            last_micros,
        })
        .collect();
    let days: BTreeSet<chrono::NaiveDate> =
        rows.iter().filter_map(|r| qiancheng_domain::day_in_china(r.checked_in_micros)).collect();
    let mut found = by_session_and_device(change, p, class, &spans).await?;
    let inspected = inspections::of_class(&mut *change.tx, &class.id).await?;
    for inspection in inspected.iter().filter(|i| days.contains(&i.inspected_on)) {
        found.extend(ghost(change, class, inspection).await?);
    }
    found.extend(perfect(change, p, class).await?);
    record(change, found).await
}

/// After a roster write of `class` (a filing, a change, a decision): PHONE-SHARED for its
/// people and ROSTER-CHURN for the class.
pub async fn after_roster(s: &Supervision, change: &mut Change, class: &ClassRecord) -> Result<(), Error> {
    let p = &s.options().signals;
    let mut found = phones(s, change, p, class).await?;
    let changes = evidence::changes_of(&mut change.tx, &class.id).await?;
    found.extend(integrity::roster_churn(p, (&class.id, class.region.code()), class.last_day, &changes));
    record(change, found).await
}

/// After an inspection of `class` is recorded: it confirms the class's signals waiting for one,
/// and GHOST-SESSION looks at its day.
pub async fn after_inspection(
    change: &mut Change,
    class: &ClassRecord,
    inspection: &InspectionRecord,
) -> Result<(), Error> {
    for mut signal in signals::due_for_inspection(&mut change.tx, &class.id).await? {
        signal.state = SignalState::Confirmed;
        signal.inspection = inspection.name();
        signal.stamp.touch();
        record::update(&mut change.tx, &signal).await?;
        change.audit_under(
            &class.policy_version,
            "signal.confirm",
            signal.name(),
            json!({ "code": signal.code, "class": class.name(), "inspection": signal.inspection }),
        );
    }
    let found = ghost(change, class, inspection).await?;
    record(change, found.into_iter().collect()).await
}

/// Every signal of `class` computed again from its records (RecomputeSignals). What officers
/// decided stays.
pub async fn recompute(s: &Supervision, change: &mut Change, class: &ClassRecord) -> Result<Vec<SignalRecord>, Error> {
    let p = &s.options().signals;
    let spans = evidence::device_spans(&mut change.tx, &class.id).await?;
    let mut found = by_session_and_device(change, p, class, &spans).await?;
    for inspection in inspections::of_class(&mut *change.tx, &class.id).await? {
        found.extend(ghost(change, class, &inspection).await?);
    }
    found.extend(perfect(change, p, class).await?);
    found.extend(phones(s, change, p, class).await?);
    let changes = evidence::changes_of(&mut change.tx, &class.id).await?;
    found.extend(integrity::roster_churn(p, (&class.id, class.region.code()), class.last_day, &changes));
    record(change, found).await?;
    signals::of_class(&mut change.tx, &class.id).await
}

/// SYNC-CHECKIN for each (session, device, first, last) and DEVICE-SHARED for each device
/// around those times.
async fn by_session_and_device(
    change: &mut Change,
    p: &Params,
    class: &ClassRecord,
    spans: &[DeviceSpan],
) -> Result<Vec<Observation>, Error> {
    let mut found = Vec::new();
    let mut devices: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for DeviceSpan { session_id, device, first_micros, last_micros } in spans {
        let facts = evidence::checkins_of_session(&mut change.tx, &class.id, session_id, device).await?;
        let session_name = format!("classes/{}/sessions/{session_id}", class.id);
        found.extend(integrity::sync_checkin(p, &session_name, device, &facts));
        let span = devices.entry(device.as_str()).or_insert((i64::MAX, i64::MIN));
        *span = (span.0.min(*first_micros), span.1.max(*last_micros));
    }
    for (device, (lo, hi)) in devices {
        let around = (lo.saturating_sub(p.device_overlap_micros), hi.saturating_add(p.device_overlap_micros));
        let facts = evidence::checkins_of_device(&mut change.tx, device, around.0, around.1).await?;
        found.extend(integrity::device_shared(p, device, &facts));
    }
    Ok(found)
}

/// GHOST-SESSION for one inspection of `class`.
async fn ghost(
    change: &mut Change,
    class: &ClassRecord,
    inspection: &InspectionRecord,
) -> Result<Option<Observation>, Error> {
    if inspection.people_present > 0 {
        return Ok(None);
    }
    let facts = evidence::checkins_on_day(&mut change.tx, &class.id, inspection.inspected_on).await?;
    let fact = InspectionFact {
        name: inspection.name(),
        inspected_on: inspection.inspected_on,
        people_present: inspection.people_present,
    };
    Ok(integrity::ghost_session((&class.id, class.region.code()), &fact, &facts))
}

/// PERFECT-ATTENDANCE for `class`; the county is read only for a class that is perfect so far.
async fn perfect(change: &mut Change, p: &Params, class: &ClassRecord) -> Result<Option<Observation>, Error> {
    // Counted first: a class with too few sessions or trainees, or a mark short of its session,
    // is not perfect, and its marks are not read.
    let (sessions, trainees, whole) = evidence::attendance_counts(&mut change.tx, &class.id).await?;
    let at_least = |n: i64, min: usize| usize::try_from(n).is_ok_and(|n| n >= min.max(1));
    if !at_least(sessions, p.perfect_min_sessions)
        || !at_least(trainees, p.perfect_min_trainees)
        || whole < sessions.saturating_mul(trainees)
    {
        return Ok(None);
    }
    let shape = evidence::attendance_shape(&mut change.tx, &class.id).await?;
    let who = (class.id.as_str(), class.region.code());
    // With no peer the detector says nothing; with one that attends fully neither: a class
    // that is not perfect needs no county.
    if integrity::perfect_attendance(p, who, &shape, &[0]).is_none() {
        return Ok(None);
    }
    let peers = evidence::county_rates(&mut change.tx, class.region.code(), &class.id).await?;
    Ok(integrity::perfect_attendance(p, who, &shape, &peers))
}

/// PHONE-SHARED for the people of `class`, after giving each phone without one its lookup hash.
async fn phones(
    s: &Supervision,
    change: &mut Change,
    p: &Params,
    class: &ClassRecord,
) -> Result<Vec<Observation>, Error> {
    for sealed in evidence::phones_unhashed(&mut change.tx, &class.id).await? {
        let phone = s.pii.decrypt(&sealed.phone_cipher)?;
        evidence::set_phone_hash(&mut change.tx, &sealed.id, &s.pii.lookup_hash(&phone)).await?;
    }
    let mut phones = BTreeSet::new();
    for sealed in evidence::live_phones(&mut change.tx, &class.id).await? {
        phones.insert(s.pii.decrypt(&sealed.phone_cipher)?);
    }
    let mut found = Vec::new();
    for phone in phones {
        let holders = evidence::phone_holders(&mut change.tx, &s.pii.lookup_hashes(&phone)).await?;
        // The subject names the phone by a hash of its keyed hash: never the number.
        let subject = hex::encode(&Sha256::digest(s.pii.lookup_hash(&phone).as_bytes())[..16]);
        found.extend(integrity::phone_shared(p, &subject, &holders));
    }
    Ok(found)
}

/// What makes a signal one: its code, class and subject.
fn key_of(o: &Observation) -> String {
    format!("{}/{}/{}", o.code, o.class_id, o.subject)
}

/// Records observations: a new signal for each one not seen before, new evidence for an open
/// one, nothing for one an officer has decided.
async fn record(change: &mut Change, found: Vec<Observation>) -> Result<(), Error> {
    let keyed: BTreeMap<String, Observation> = found.into_iter().map(|o| (key_of(&o), o)).collect();
    let mut classes_read: HashMap<String, ClassRecord> = HashMap::new();
    for (key, o) in keyed {
        change.serialize_on(&format!("signal/{key}")).await?;
        if !classes_read.contains_key(&o.class_id) {
            let class = classes::find(&mut *change.tx, &o.class_id)
                .await?
                .ok_or_else(|| Error::corrupt("a signal's class does not exist"))?;
            classes_read.insert(o.class_id.clone(), class);
        }
        let Some(class) = classes_read.get(&o.class_id) else { continue };
        match signals::by_key(&mut change.tx, &key).await? {
            None => {
                let signal = SignalRecord {
                    id: new_id(),
                    signal_key: key,
                    code: o.code.to_owned(),
                    class_id: class.id.clone(),
                    region: class.region,
                    provider_credit_code: class.provider_credit_code.clone(),
                    severity: o.severity,
                    severity_rank: o.severity.rank(),
                    explanation: o.explanation,
                    evidence: o.evidence,
                    parameters: o.parameters,
                    state: SignalState::Open,
                    state_note: String::new(),
                    decided_by: String::new(),
                    inspection: String::new(),
                    stamp: Stamp::new(),
                };
                record::insert(&mut change.tx, &signal).await?;
                change.audit_under(
                    &class.policy_version,
                    "signal.raise",
                    signal.name(),
                    json!({ "code": signal.code, "class": class.name(), "severity": signal.severity.code(),
                        "evidence": signal.evidence.len(), "parameters": signal.parameters }),
                );
            }
            Some(mut signal) if signal.state == SignalState::Open => {
                if signal.evidence != o.evidence || signal.severity != o.severity || signal.explanation != o.explanation
                {
                    signal.severity = o.severity;
                    signal.severity_rank = o.severity.rank();
                    signal.explanation = o.explanation;
                    signal.evidence = o.evidence;
                    signal.parameters = o.parameters;
                    signal.stamp.touch();
                    record::update(&mut change.tx, &signal).await?;
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}
