//! Integrity signals (八(四) 弄虚作假: 虚报培训人数、代签到、转包分包、冒领): what supervision's own
//! records show that an officer may want to look at. Each detector here is a pure function over
//! facts its caller read, with the suite's parameters ([`Params`], docs/integrity.md); it returns
//! what it observed, the records it rests on and how much attention it asks for, never a
//! refusal. Nothing here reads or writes: supervision gathers the facts as events arrive and stores
//! what these functions find.
//!
//! The thresholds are the suite's interpretation, not the plan's: the plan names the frauds
//! (代签到, 虚报人数, 转包) and asks for 智能监管, not for numbers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The signal codes (docs/RULES.md).
pub const SYNC_CHECKIN: &str = "SYNC-CHECKIN";
/// One device, several classes at once.
pub const DEVICE_SHARED: &str = "DEVICE-SHARED";
/// One phone, several people.
pub const PHONE_SHARED: &str = "PHONE-SHARED";
/// A roster that keeps changing after the class began.
pub const ROSTER_CHURN: &str = "ROSTER-CHURN";
/// Everyone at every session, in a county where that is rare.
pub const PERFECT_ATTENDANCE: &str = "PERFECT-ATTENDANCE";
/// Attendance on a day an inspection found nobody.
pub const GHOST_SESSION: &str = "GHOST-SESSION";
/// Every code, in the order docs/integrity.md lists them.
pub const CODES: [&str; 6] =
    [SYNC_CHECKIN, DEVICE_SHARED, PHONE_SHARED, ROSTER_CHURN, PERFECT_ATTENDANCE, GHOST_SESSION];

/// The suite's thresholds (docs/integrity.md; each an interpretation, not the plan's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// SYNC-CHECKIN: the window, in microseconds, within which check-ins count as together.
    pub sync_window_micros: i64,
    /// SYNC-CHECKIN: the fewest trainees of one session checking in on one device within the window.
    pub sync_min_trainees: usize,
    /// DEVICE-SHARED: how close, in microseconds, check-ins of two classes on one device must be.
    pub device_overlap_micros: i64,
    /// PHONE-SHARED: the fewest different people on rosters under one phone number.
    pub phone_min_people: usize,
    /// ROSTER-CHURN: the fewest roster changes proposed from the class's first day.
    pub churn_min_changes: usize,
    /// ROSTER-CHURN: how many days before the last day count as "just before completion".
    pub replacement_window_days: i64,
    /// ROSTER-CHURN: the fewest additions proposed in that window.
    pub replacement_min_additions: usize,
    /// PERFECT-ATTENDANCE: the fewest sessions with attendance before a class is judged.
    pub perfect_min_sessions: usize,
    /// PERFECT-ATTENDANCE: the fewest trainees on the roster before a class is judged.
    pub perfect_min_trainees: usize,
    /// PERFECT-ATTENDANCE: a county whose other classes attend, on average, below this share (‰)
    /// makes a perfect class unusual.
    pub perfect_county_below_permille: i64,
    /// PERFECT-ATTENDANCE: the fewest other classes of the county to compare with.
    pub perfect_min_peer_classes: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            sync_window_micros: 10_000_000,
            sync_min_trainees: 10,
            device_overlap_micros: 3_600_000_000,
            phone_min_people: 3,
            churn_min_changes: 5,
            replacement_window_days: 7,
            replacement_min_additions: 2,
            perfect_min_sessions: 5,
            perfect_min_trainees: 10,
            perfect_county_below_permille: 950,
            perfect_min_peer_classes: 1,
        }
    }
}

impl Params {
    /// The parameters `text` sets over the defaults: `name=value` pairs separated by commas, the
    /// names of the fields (`sync_min_trainees=12,sync_window_micros=5000000`). An unknown name,
    /// a value that is not a whole number, or a value out of its range (windows and counts above
    /// zero, the permille from 1 to 1000) is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Self::default();
        for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| format!("{pair}: expected name=value"))?;
            let (name, value) = (name.trim(), value.trim());
            let number: i64 = value.parse().map_err(|_| format!("{name}: {value} is not a whole number"))?;
            let (low, high) = if name == "perfect_county_below_permille" { (1, 1000) } else { (1, i64::MAX) };
            if !(low..=high).contains(&number) {
                return Err(format!("{name}: {number} is outside {low}..={high}"));
            }
            let count = usize::try_from(number).map_err(|_| format!("{name}: {number} is too large"))?;
            match name {
                "sync_window_micros" => p.sync_window_micros = number,
                "sync_min_trainees" => p.sync_min_trainees = count,
                "device_overlap_micros" => p.device_overlap_micros = number,
                "phone_min_people" => p.phone_min_people = count,
                "churn_min_changes" => p.churn_min_changes = count,
                "replacement_window_days" => p.replacement_window_days = number,
                "replacement_min_additions" => p.replacement_min_additions = count,
                "perfect_min_sessions" => p.perfect_min_sessions = count,
                "perfect_min_trainees" => p.perfect_min_trainees = count,
                "perfect_county_below_permille" => p.perfect_county_below_permille = number,
                "perfect_min_peer_classes" => p.perfect_min_peer_classes = count,
                _ => return Err(format!("{name}: not a parameter of the integrity signals")),
            }
        }
        Ok(p)
    }
}

/// How much a signal asks of an officer's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look when passing.
    Low,
    /// Worth a question to the provider.
    Medium,
    /// Worth an unannounced inspection.
    High,
}

impl Severity {
    /// Every severity, the least first.
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }

    /// Its rank: the higher, the earlier an officer sees it.
    pub fn rank(self) -> i64 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
        }
    }
}

/// What kind of record a signal rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EvidenceKind {
    /// A check-in, by its event id.
    CheckIn,
    /// A trainee, by resource name.
    Trainee,
    /// A roster change, by resource name.
    RosterChange,
    /// A session, by resource name.
    Session,
    /// An inspection, by resource name.
    Inspection,
}

impl EvidenceKind {
    /// The code the API shows.
    pub fn code(self) -> &'static str {
        match self {
            EvidenceKind::CheckIn => "CHECK_IN",
            EvidenceKind::Trainee => "TRAINEE",
            EvidenceKind::RosterChange => "ROSTER_CHANGE",
            EvidenceKind::Session => "SESSION",
            EvidenceKind::Inspection => "INSPECTION",
        }
    }
}

/// One record a signal rests on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Evidence {
    /// What it is.
    pub kind: EvidenceKind,
    /// Its class's id.
    pub class_id: String,
    /// Its class's county (what an officer of another county may not see).
    pub region_code: String,
    /// A check-in's event id, or the resource's name.
    pub id: String,
    /// When it happened, microseconds since the epoch (0 for none).
    pub at_micros: i64,
}

/// The most records one signal keeps (the rest are counted in its explanation).
pub const MAX_EVIDENCE: usize = 500;

/// What a detector observed about one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The signal code.
    pub code: &'static str,
    /// The class it concerns.
    pub class_id: String,
    /// What makes it one signal (a session and device, a phone): with the code and the class,
    /// the signal's identity, so that a later event updates the signal rather than adding one.
    pub subject: String,
    /// How much attention it asks for.
    pub severity: Severity,
    /// What was observed, in words, with no personal data.
    pub explanation: String,
    /// The records it rests on.
    pub evidence: Vec<Evidence>,
    /// The parameters it was computed with.
    pub parameters: BTreeMap<String, i64>,
}

fn parameters(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn capped(mut evidence: Vec<Evidence>) -> Vec<Evidence> {
    evidence.sort();
    evidence.dedup();
    evidence.truncate(MAX_EVIDENCE);
    evidence
}

/// A stored check-in, as the detectors see it: with its class's county and provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInFact {
    /// The event id.
    pub event_id: String,
    /// The class's id.
    pub class_id: String,
    /// The class's county.
    pub region_code: String,
    /// The class's provider.
    pub provider: String,
    /// The trainee.
    pub trainee_id: String,
    /// When the device saw them, microseconds since the epoch.
    pub micros: i64,
}

impl CheckInFact {
    fn evidence(&self) -> Evidence {
        Evidence {
            kind: EvidenceKind::CheckIn,
            class_id: self.class_id.clone(),
            region_code: self.region_code.clone(),
            id: self.event_id.clone(),
            at_micros: self.micros,
        }
    }
}

/// SYNC-CHECKIN (代签到): the check-ins of one session of a class on one device. Raised when at
/// least `sync_min_trainees` different trainees checked in within `sync_window_micros` of each
/// other (both ends included); rests on the check-ins of the fullest such window. HIGH at twice
/// the threshold, MEDIUM below.
pub fn sync_checkin(p: &Params, session: &str, device: &str, checkins: &[CheckInFact]) -> Option<Observation> {
    let mut sorted: Vec<&CheckInFact> = checkins.iter().collect();
    sorted.sort_by(|a, b| a.micros.cmp(&b.micros).then_with(|| a.event_id.cmp(&b.event_id)));
    // The fullest window [t_i, t_i + window]: a second pointer moves forward only.
    let mut best = (0, 0);
    let mut end = 0;
    for start in 0..sorted.len() {
        end = end.max(start);
        while end + 1 < sorted.len() && sorted[end + 1].micros - sorted[start].micros <= p.sync_window_micros {
            end += 1;
        }
        if end + 1 - start > best.1 - best.0 {
            best = (start, end + 1);
        }
    }
    let window = &sorted[best.0..best.1];
    let trainees: BTreeSet<&str> = window.iter().map(|c| c.trainee_id.as_str()).collect();
    if trainees.len() < p.sync_min_trainees || p.sync_min_trainees == 0 {
        return None;
    }
    let first = window.first()?;
    let span = window.last().map_or(0, |l| l.micros - first.micros);
    Some(Observation {
        code: SYNC_CHECKIN,
        class_id: first.class_id.clone(),
        subject: format!("{session}/{device}"),
        severity: if trainees.len() >= 2 * p.sync_min_trainees { Severity::High } else { Severity::Medium },
        explanation: format!(
            "{} trainees of one session checked in on device {device} within {} ms (the threshold is {} \
             within {} seconds)",
            trainees.len(),
            span / 1_000,
            p.sync_min_trainees,
            p.sync_window_micros / 1_000_000
        ),
        evidence: capped(window.iter().map(|c| c.evidence()).collect()),
        parameters: parameters(&[
            ("sync_window_micros", p.sync_window_micros),
            ("sync_min_trainees", count(p.sync_min_trainees)),
        ]),
    })
}

/// DEVICE-SHARED (转包, 代签到): every check-in on one device over a span of time, of any
/// class. For each class with a check-in within `device_overlap_micros` of a check-in of another
/// class on the device, an observation resting on both sides' check-ins. HIGH when another
/// provider's class is among them, MEDIUM when only the same provider's.
pub fn device_shared(p: &Params, device: &str, checkins: &[CheckInFact]) -> Vec<Observation> {
    let mut sorted: Vec<&CheckInFact> = checkins.iter().collect();
    sorted.sort_by(|a, b| a.micros.cmp(&b.micros).then_with(|| a.event_id.cmp(&b.event_id)));
    // One pass with a window of `device_overlap_micros` either side of each check-in, holding how
    // many check-ins of each class it has: linear in the check-ins (times the classes sharing the
    // device), where comparing every pair would grow with their square.
    let provider_of: BTreeMap<&str, &str> = sorted.iter().map(|c| (c.class_id.as_str(), c.provider.as_str())).collect();
    let mut in_window: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut lo, mut hi) = (0, 0);
    // For each class: the check-ins it rests on, the other classes and whether another provider
    // is among them.
    let mut found: BTreeMap<&str, (BTreeSet<usize>, BTreeSet<&str>, bool)> = BTreeMap::new();
    for (i, c) in sorted.iter().enumerate() {
        while hi < sorted.len() && sorted[hi].micros - c.micros <= p.device_overlap_micros {
            *in_window.entry(sorted[hi].class_id.as_str()).or_default() += 1;
            hi += 1;
        }
        while c.micros - sorted[lo].micros > p.device_overlap_micros {
            let class = sorted[lo].class_id.as_str();
            if let Some(count) = in_window.get_mut(class) {
                *count -= 1;
                if *count == 0 {
                    in_window.remove(class);
                }
            }
            lo += 1;
        }
        let own = c.class_id.as_str();
        let others: Vec<&str> = in_window.keys().copied().filter(|class| *class != own).collect();
        if others.is_empty() {
            continue;
        }
        let provider = c.provider.as_str();
        let entry = found.entry(own).or_default();
        entry.0.insert(i);
        for other in &others {
            entry.1.insert(other);
            entry.2 |= provider_of.get(other).is_some_and(|p| *p != provider);
        }
        for other in others {
            found.entry(other).or_default().0.insert(i);
        }
    }
    found
        .into_iter()
        .map(|(class_id, (rests_on, others, other_provider))| Observation {
            code: DEVICE_SHARED,
            class_id: class_id.to_owned(),
            subject: device.to_owned(),
            severity: if other_provider { Severity::High } else { Severity::Medium },
            explanation: format!(
                "device {device} checked in trainees of this class and of {} other class(es){} within {} minutes of \
                 each other",
                others.len(),
                if other_provider { ", another provider's among them" } else { " of the same provider" },
                p.device_overlap_micros / 60_000_000
            ),
            evidence: capped(rests_on.iter().map(|i| sorted[*i].evidence()).collect()),
            parameters: parameters(&[("device_overlap_micros", p.device_overlap_micros)]),
        })
        .collect()
}

/// A trainee on a roster under a phone number, as PHONE-SHARED sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneHolder {
    /// The trainee's resource name.
    pub trainee: String,
    /// Their class's id.
    pub class_id: String,
    /// Their class's county.
    pub region_code: String,
    /// The keyed hash of their ID number: the same person in two classes is one person.
    pub person_hash: String,
}

/// PHONE-SHARED (冒名, 虚报人数): the trainees on rosters under one phone number (by its keyed
/// hash). When at least `phone_min_people` different people share it, an observation for each
/// class among them, resting on every holder. MEDIUM at twice the threshold, LOW below.
pub fn phone_shared(p: &Params, phone_key: &str, holders: &[PhoneHolder]) -> Vec<Observation> {
    let people: BTreeSet<&str> = holders.iter().map(|h| h.person_hash.as_str()).collect();
    if people.len() < p.phone_min_people || p.phone_min_people == 0 {
        return Vec::new();
    }
    let evidence: Vec<Evidence> = holders
        .iter()
        .map(|h| Evidence {
            kind: EvidenceKind::Trainee,
            class_id: h.class_id.clone(),
            region_code: h.region_code.clone(),
            id: h.trainee.clone(),
            at_micros: 0,
        })
        .collect();
    let classes: BTreeSet<&str> = holders.iter().map(|h| h.class_id.as_str()).collect();
    classes
        .into_iter()
        .map(|class_id| Observation {
            code: PHONE_SHARED,
            class_id: class_id.to_owned(),
            subject: phone_key.to_owned(),
            severity: if people.len() >= 2 * p.phone_min_people { Severity::Medium } else { Severity::Low },
            explanation: format!(
                "{} different people on rosters give one phone number, a trainee of this class among them (the \
                 threshold is {})",
                people.len(),
                p.phone_min_people
            ),
            evidence: capped(evidence.clone()),
            parameters: parameters(&[("phone_min_people", count(p.phone_min_people))]),
        })
        .collect()
}

/// A roster change, as ROSTER-CHURN sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFact {
    /// Its resource name.
    pub name: String,
    /// It adds a trainee (a removal otherwise).
    pub addition: bool,
    /// It was proposed from the class's first day on, when the roster is locked and every
    /// change waits for an officer (whatever the officer then decided).
    pub after_start: bool,
    /// When it was proposed.
    pub proposed_micros: i64,
    /// The day an addition's trainee was put on the roster, on the service's calendar.
    pub added_on: Option<NaiveDate>,
}

/// ROSTER-CHURN (虚报人数, 冒领): a class's roster changes. Raised when at least
/// `churn_min_changes` changes were proposed from the first day on, or at least
/// `replacement_min_additions` such additions were put on the roster in the
/// `replacement_window_days` days before the last day (both ends included); rejected proposals
/// count, since proposing is what is observed. MEDIUM; HIGH when both hold.
pub fn roster_churn(
    p: &Params,
    (class_id, region_code): (&str, &str),
    last_day: NaiveDate,
    changes: &[ChangeFact],
) -> Option<Observation> {
    let late: Vec<&ChangeFact> = changes.iter().filter(|c| c.after_start).collect();
    let window_start = last_day - chrono::Duration::days(p.replacement_window_days);
    let replacements: Vec<&ChangeFact> = late
        .iter()
        .copied()
        .filter(|c| c.addition && c.added_on.is_some_and(|on| on >= window_start && on <= last_day))
        .collect();
    let churn = p.churn_min_changes > 0 && late.len() >= p.churn_min_changes;
    let replacing = p.replacement_min_additions > 0 && replacements.len() >= p.replacement_min_additions;
    if !churn && !replacing {
        return None;
    }
    let rested: &[&ChangeFact] = if churn { &late } else { &replacements };
    let mut said = Vec::new();
    if churn {
        said.push(format!(
            "{} roster changes were proposed from the first day (the threshold is {})",
            late.len(),
            p.churn_min_changes
        ));
    }
    if replacing {
        said.push(format!(
            "{} additions were proposed in the {} days before the last day (the threshold is {})",
            replacements.len(),
            p.replacement_window_days,
            p.replacement_min_additions
        ));
    }
    Some(Observation {
        code: ROSTER_CHURN,
        class_id: class_id.to_owned(),
        subject: String::new(),
        severity: if churn && replacing { Severity::High } else { Severity::Medium },
        explanation: said.join("; "),
        evidence: capped(
            rested
                .iter()
                .map(|c| Evidence {
                    kind: EvidenceKind::RosterChange,
                    class_id: class_id.to_owned(),
                    region_code: region_code.to_owned(),
                    id: c.name.clone(),
                    at_micros: c.proposed_micros,
                })
                .collect(),
        ),
        parameters: parameters(&[
            ("churn_min_changes", count(p.churn_min_changes)),
            ("replacement_window_days", p.replacement_window_days),
            ("replacement_min_additions", count(p.replacement_min_additions)),
        ]),
    })
}

/// A class's attendance so far, as PERFECT-ATTENDANCE sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttendanceShape {
    /// The sessions with any attendance, by resource name, with their hours.
    pub sessions: Vec<(String, i64)>,
    /// The trainees on the roster.
    pub trainees: usize,
    /// Hours counted per session (resource name) and trainee.
    pub hours: HashMap<(String, String), i64>,
}

impl AttendanceShape {
    /// Hours attended over hours offered to the roster, in ‰ (`None` with nothing offered).
    pub fn rate_permille(&self) -> Option<i64> {
        let offered: i64 = self.sessions.iter().map(|(_, h)| h * count(self.trainees)).sum();
        let attended: i64 = self.hours.values().sum();
        (offered > 0).then(|| attended.min(offered) * 1000 / offered)
    }

    fn perfect(&self) -> bool {
        self.sessions.iter().all(|(session, hours)| {
            self.hours.iter().filter(|((s, _), h)| s == session && **h >= *hours).count() >= self.trainees
        })
    }
}

/// PERFECT-ATTENDANCE (虚报, 代签到): a class whose every trainee attended every session with
/// attendance, whole, once it has `perfect_min_sessions` such sessions and
/// `perfect_min_trainees` trainees, in a county whose other classes (at least
/// `perfect_min_peer_classes` with attendance) attend on average below
/// `perfect_county_below_permille`. LOW: most perfect classes are simply good ones.
pub fn perfect_attendance(
    p: &Params,
    (class_id, region_code): (&str, &str),
    shape: &AttendanceShape,
    peer_rates_permille: &[i64],
) -> Option<Observation> {
    if shape.sessions.len() < p.perfect_min_sessions.max(1)
        || shape.trainees < p.perfect_min_trainees.max(1)
        || !shape.perfect()
        || peer_rates_permille.len() < p.perfect_min_peer_classes.max(1)
    {
        return None;
    }
    let mean = peer_rates_permille.iter().sum::<i64>() / count(peer_rates_permille.len());
    if mean >= p.perfect_county_below_permille {
        return None;
    }
    Some(Observation {
        code: PERFECT_ATTENDANCE,
        class_id: class_id.to_owned(),
        subject: String::new(),
        severity: Severity::Low,
        explanation: format!(
            "all {} trainees attended all {} sessions in full, where the county's {} other classes attend {}‰ on \
             average (a perfect class is unusual below {}‰)",
            shape.trainees,
            shape.sessions.len(),
            peer_rates_permille.len(),
            mean,
            p.perfect_county_below_permille
        ),
        evidence: capped(
            shape
                .sessions
                .iter()
                .map(|(s, _)| Evidence {
                    kind: EvidenceKind::Session,
                    class_id: class_id.to_owned(),
                    region_code: region_code.to_owned(),
                    id: s.clone(),
                    at_micros: 0,
                })
                .collect(),
        ),
        parameters: parameters(&[
            ("perfect_min_sessions", count(p.perfect_min_sessions)),
            ("perfect_min_trainees", count(p.perfect_min_trainees)),
            ("perfect_county_below_permille", p.perfect_county_below_permille),
            ("perfect_min_peer_classes", count(p.perfect_min_peer_classes)),
        ]),
    })
}

/// An inspection, as GHOST-SESSION sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionFact {
    /// Its resource name.
    pub name: String,
    /// The day.
    pub inspected_on: NaiveDate,
    /// People counted present.
    pub people_present: i64,
}

/// GHOST-SESSION (虚报培训): check-ins with hours for the sessions of a day on which an
/// inspection counted nobody present. HIGH.
pub fn ghost_session(
    (class_id, region_code): (&str, &str),
    inspection: &InspectionFact,
    checkins_that_day: &[CheckInFact],
) -> Option<Observation> {
    if inspection.people_present > 0 || checkins_that_day.is_empty() {
        return None;
    }
    let mut evidence: Vec<Evidence> = checkins_that_day.iter().map(CheckInFact::evidence).collect();
    evidence.push(Evidence {
        kind: EvidenceKind::Inspection,
        class_id: class_id.to_owned(),
        region_code: region_code.to_owned(),
        id: inspection.name.clone(),
        at_micros: 0,
    });
    Some(Observation {
        code: GHOST_SESSION,
        class_id: class_id.to_owned(),
        subject: inspection.name.clone(),
        severity: Severity::High,
        explanation: format!(
            "{} check-ins are recorded for sessions on {}, when an inspection counted nobody present",
            checkins_that_day.len(),
            inspection.inspected_on
        ),
        evidence: capped(evidence),
        parameters: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    #[test]
    fn parameters_are_set_by_name_over_the_defaults_and_refused_out_of_range() {
        assert_eq!(Params::parse(""), Ok(Params::default()));
        let set =
            Params::parse(" sync_min_trainees=12 , sync_window_micros=5000000,perfect_county_below_permille=1000")
                .expect("valid");
        assert_eq!(
            (set.sync_min_trainees, set.sync_window_micros, set.perfect_county_below_permille),
            (12, 5_000_000, 1000)
        );
        assert_eq!(set.phone_min_people, Params::default().phone_min_people, "the rest keep their defaults");
        for bad in
            ["sync_min_trainees=0", "perfect_county_below_permille=1001", "nonsense=3", "phone_min_people=x", "phone"]
        {
            assert!(Params::parse(bad).is_err(), "{bad}");
        }
    }

    fn checkin(n: usize, class: &str, provider: &str, micros: i64) -> CheckInFact {
        CheckInFact {
            event_id: format!("e{n}"),
            class_id: class.into(),
            region_code: "421221".into(),
            provider: provider.into(),
            trainee_id: format!("t{n}"),
            micros,
        }
    }

    fn burst(n: usize, step: i64) -> Vec<CheckInFact> {
        (0..n).map(|i| checkin(i, "c1", "P", 1_000 * SECOND + count(i) * step)).collect()
    }

    #[test]
    fn sync_checkin_is_raised_from_the_threshold_within_the_window() {
        let p = Params::default();
        // 10 trainees over exactly 9 s: inside a 10 s window.
        let seen = sync_checkin(&p, "s1", "gate", &burst(10, SECOND)).expect("raised at the threshold");
        assert_eq!(seen.evidence.len(), 10);
        assert_eq!(seen.severity, Severity::Medium);
        assert_eq!(seen.subject, "s1/gate");
        // One fewer trainee: nothing.
        assert!(sync_checkin(&p, "s1", "gate", &burst(9, SECOND)).is_none());
        // The window's both ends count: 10 trainees over exactly 10 s…
        let edge: Vec<_> = (0..10).map(|i| checkin(i, "c1", "P", if i == 9 { 10 * SECOND } else { 0 })).collect();
        assert!(sync_checkin(&p, "s1", "gate", &edge).is_some());
        // …but not over 10 s and one microsecond.
        let past: Vec<_> = (0..10).map(|i| checkin(i, "c1", "P", if i == 9 { 10 * SECOND + 1 } else { 0 })).collect();
        assert!(sync_checkin(&p, "s1", "gate", &past).is_none());
        // 30 within 5 s (the scenario): HIGH, every event id.
        let thirty = sync_checkin(&p, "s1", "gate", &burst(30, SECOND / 6)).expect("raised");
        assert_eq!(thirty.severity, Severity::High);
        assert_eq!(thirty.evidence.len(), 30);
        assert!(thirty.evidence.iter().all(|e| e.kind == EvidenceKind::CheckIn));
        // A steady queue, one every 3 s, is not.
        assert!(sync_checkin(&p, "s1", "gate", &burst(60, 3 * SECOND)).is_none());
    }

    #[test]
    fn device_shared_needs_two_classes_within_the_overlap() {
        let p = Params::default();
        let hour = 3_600 * SECOND;
        let same = vec![checkin(1, "c1", "P", 0), checkin(2, "c2", "P", hour)];
        let seen = device_shared(&p, "gate", &same);
        assert_eq!(seen.len(), 2, "one for each class");
        assert!(seen.iter().all(|o| o.severity == Severity::Medium && o.evidence.len() == 2));
        let apart = vec![checkin(1, "c1", "P", 0), checkin(2, "c2", "P", hour + 1)];
        assert!(device_shared(&p, "gate", &apart).is_empty());
        let other = vec![checkin(1, "c1", "P", 0), checkin(2, "c2", "Q", SECOND)];
        assert!(device_shared(&p, "gate", &other).iter().all(|o| o.severity == Severity::High));
        let one_class = vec![checkin(1, "c1", "P", 0), checkin(2, "c1", "P", SECOND)];
        assert!(device_shared(&p, "gate", &one_class).is_empty());
    }

    /// DEVICE-SHARED as first written, comparing every pair: the reference the window must match.
    fn device_shared_pairwise(p: &Params, checkins: &[CheckInFact]) -> BTreeMap<String, (Vec<String>, usize, bool)> {
        let mut found: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>, bool)> = BTreeMap::new();
        for a in checkins {
            for b in checkins {
                if a.class_id == b.class_id || (a.micros - b.micros).abs() > p.device_overlap_micros {
                    continue;
                }
                let entry = found.entry(a.class_id.clone()).or_default();
                entry.0.insert(a.event_id.clone());
                entry.0.insert(b.event_id.clone());
                entry.1.insert(b.class_id.clone());
                entry.2 |= a.provider != b.provider;
            }
        }
        found
            .into_iter()
            .map(|(class, (events, others, other))| (class, (events.into_iter().collect(), others.len(), other)))
            .collect()
    }

    #[test]
    fn device_shared_in_one_pass_finds_what_every_pair_finds() {
        let p = Params::default();
        let minute = 60 * SECOND;
        // A deterministic scatter: 4 classes of 2 providers over 6 hours, some within the hour.
        let mut state: u64 = 7;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        for round in 0..20 {
            let checkins: Vec<CheckInFact> = (0..40)
                .map(|n| {
                    let class = format!("c{}", next() % 4);
                    let provider = if class == "c3" { "Q" } else { "P" };
                    checkin(round * 100 + n, &class, provider, i64::try_from(next() % 360).unwrap_or(0) * minute)
                })
                .collect();
            let expected = device_shared_pairwise(&p, &checkins);
            let seen = device_shared(&p, "gate", &checkins);
            assert_eq!(seen.len(), expected.len(), "round {round}");
            for o in &seen {
                let (events, others, other_provider) = &expected[&o.class_id];
                let mut ids: Vec<String> = o.evidence.iter().map(|e| e.id.clone()).collect();
                ids.sort();
                assert_eq!(&ids, events, "round {round}, class {}", o.class_id);
                assert_eq!(o.severity == Severity::High, *other_provider);
                assert!(o.explanation.contains(&format!("of {others} other class(es)")));
            }
        }
    }

    #[test]
    fn device_shared_stays_linear_when_many_classes_share_a_device() {
        // 20 classes of 300 check-ins each within one hour on one device: every pair would be
        // 18 million comparisons and twice as many evidence rows; the window keeps it small.
        let p = Params::default();
        let checkins: Vec<CheckInFact> = (0..6_000)
            .map(|n| checkin(n, &format!("c{}", n % 20), if n % 2 == 0 { "P" } else { "Q" }, count(n) * SECOND / 2))
            .collect();
        let seen = device_shared(&p, "gate", &checkins);
        assert_eq!(seen.len(), 20);
        assert!(seen.iter().all(|o| o.severity == Severity::High && o.evidence.len() == MAX_EVIDENCE));
    }

    fn holder(n: usize, person: &str, class: &str) -> PhoneHolder {
        PhoneHolder {
            trainee: format!("classes/{class}/trainees/t{n}"),
            class_id: class.into(),
            region_code: "421221".into(),
            person_hash: person.into(),
        }
    }

    #[test]
    fn phone_shared_counts_people_not_roster_entries() {
        let p = Params::default();
        let two = vec![holder(1, "a", "c1"), holder(2, "b", "c1")];
        assert!(phone_shared(&p, "k", &two).is_empty());
        // The same person in a second class is still two people.
        let again = vec![holder(1, "a", "c1"), holder(2, "b", "c1"), holder(3, "a", "c2")];
        assert!(phone_shared(&p, "k", &again).is_empty());
        let three = vec![holder(1, "a", "c1"), holder(2, "b", "c1"), holder(3, "c", "c2")];
        let seen = phone_shared(&p, "k", &three);
        assert_eq!(seen.len(), 2, "one for each class");
        assert!(seen.iter().all(|o| o.severity == Severity::Low && o.evidence.len() == 3));
        let six: Vec<_> = (0..6).map(|i| holder(i, &format!("p{i}"), "c1")).collect();
        assert_eq!(phone_shared(&p, "k", &six)[0].severity, Severity::Medium);
    }

    fn change(n: usize, addition: bool, on: Option<NaiveDate>) -> ChangeFact {
        ChangeFact {
            name: format!("classes/c1/rosterChanges/r{n}"),
            addition,
            after_start: on.is_some(),
            proposed_micros: 0,
            added_on: on.filter(|_| addition),
        }
    }

    #[test]
    fn roster_churn_counts_changes_from_the_first_day_and_late_additions() {
        let p = Params::default();
        let d = |m, day| Some(NaiveDate::from_ymd_opt(2027, m, day).expect("day"));
        let last = NaiveDate::from_ymd_opt(2027, 4, 30).expect("day");
        let who = ("c1", "421221");
        // Four changes from the first day (removals, so no late additions): nothing; five: raised.
        let four: Vec<_> = (0..4).map(|i| change(i, false, d(3, 10))).collect();
        assert!(roster_churn(&p, who, last, &four).is_none());
        let mut five = four.clone();
        five.push(change(5, false, d(3, 1)));
        let seen = roster_churn(&p, who, last, &five).expect("raised");
        assert_eq!((seen.severity, seen.evidence.len()), (Severity::Medium, 5));
        // Changes applied at once before the first day do not count.
        let mut early = four.clone();
        early.push(change(5, false, None));
        assert!(roster_churn(&p, who, last, &early).is_none());
        // Two additions within 7 days of the last day (the window's first day included): raised.
        let late = vec![change(1, true, d(4, 23)), change(2, true, d(4, 30))];
        assert!(roster_churn(&p, who, last, &late).is_some());
        let before = vec![change(1, true, d(4, 22)), change(2, true, d(4, 30))];
        assert!(roster_churn(&p, who, last, &before).is_none());
        let removals = vec![change(1, false, d(4, 25)), change(2, false, d(4, 30))];
        assert!(roster_churn(&p, who, last, &removals).is_none());
        // Both: HIGH.
        let mut both = five.clone();
        both.extend(late);
        assert_eq!(roster_churn(&p, who, last, &both).expect("raised").severity, Severity::High);
    }

    fn shape(sessions: usize, trainees: usize, missing: usize) -> AttendanceShape {
        let mut s = AttendanceShape { trainees, ..Default::default() };
        for i in 0..sessions {
            s.sessions.push((format!("s{i}"), 4));
            for t in 0..trainees {
                s.hours.insert((format!("s{i}"), format!("t{t}")), 4);
            }
        }
        for t in 0..missing {
            s.hours.remove(&("s0".to_owned(), format!("t{t}")));
        }
        s
    }

    #[test]
    fn perfect_attendance_is_raised_only_where_it_is_unusual() {
        let p = Params::default();
        let who = ("c1", "421221");
        let seen = perfect_attendance(&p, who, &shape(5, 10, 0), &[900]).expect("raised");
        assert_eq!((seen.severity, seen.evidence.len()), (Severity::Low, 5));
        // Too few sessions, too few trainees, one absence, no peers, or a county that attends well.
        assert!(perfect_attendance(&p, who, &shape(4, 10, 0), &[900]).is_none());
        assert!(perfect_attendance(&p, who, &shape(5, 9, 0), &[900]).is_none());
        assert!(perfect_attendance(&p, who, &shape(5, 10, 1), &[900]).is_none());
        assert!(perfect_attendance(&p, who, &shape(5, 10, 0), &[]).is_none());
        assert!(perfect_attendance(&p, who, &shape(5, 10, 0), &[950]).is_none());
        assert!(perfect_attendance(&p, who, &shape(5, 10, 0), &[949]).is_some());
        assert_eq!(shape(5, 10, 1).rate_permille(), Some(980));
    }

    #[test]
    fn ghost_session_needs_an_empty_room_and_a_check_in() {
        let inspection = |present| InspectionFact {
            name: "classes/c1/inspections/i1".into(),
            inspected_on: NaiveDate::from_ymd_opt(2027, 3, 2).expect("day"),
            people_present: present,
        };
        let checkins = vec![checkin(1, "c1", "P", 0), checkin(2, "c1", "P", 1)];
        let seen = ghost_session(("c1", "421221"), &inspection(0), &checkins).expect("raised");
        assert_eq!((seen.severity, seen.evidence.len()), (Severity::High, 3));
        assert!(ghost_session(("c1", "421221"), &inspection(1), &checkins).is_none());
        assert!(ghost_session(("c1", "421221"), &inspection(0), &[]).is_none());
    }
}
