//! The facts the policy core judges about people, gathered from what supervision stores, and the
//! one place its answers are applied to them: who may be put on a real-name roster (七(三),
//! ELIG-*), and who completed (CLASS-ATTENDANCE, CLASS-COMPLETION: [`decide_completion`], for
//! completing a class and for a skill evaluation recorded after). No rule is decided here;
//! `qiancheng_domain::policy` decides and explains.
//!
//! A roster entry is judged with every eligibility rule (`judge_trainee`) on the class's first
//! day, and the whole decision is stored with the entry. The rules that make a person no
//! 培训对象 of this class keep them off the roster ([`ENTRY_RULES`]): PERSON-ID, ELIG-AGE,
//! ELIG-FISCAL, ELIG-LOCAL, ELIG-OVERLAP (against every other class in this service, across
//! projects and providers) and ELIG-ONCE (against earlier completions of the same occupation and
//! level). ELIG-PREHIRE is a condition of the subsidy (a labour contract signed before the
//! claim), not of training, and ELIG-REALNAME is kept by the roster itself (locked from the first
//! day): both are recorded, neither refuses an entry.

use chrono::NaiveDate;
use qiancheng_api::convert::{self, FromProto as _};
use qiancheng_api::supervision::TraineeInput;
use qiancheng_domain::lifecycle::{Lifecycle as _, TraineeState};
use qiancheng_domain::policy::class::evaluate_completion_in;
use qiancheng_domain::policy::eligibility::{TraineeContext, TraineeStanding, judge_trainee};
use qiancheng_domain::policy::facts::{
    ClassFacts, DateRange, KeyProject, LocalBasis, LocalBasisKind, PriorSubsidy, TraineeFacts,
};
use qiancheng_domain::policy::{Decision, PolicySet, RuleResult};
use qiancheng_domain::{IdNumber, OccupationCode, PhoneNumber, SkillLevel, TargetGroup};
use qiancheng_platform::error::Violations;
use qiancheng_platform::pii::{PiiCipher, mask_name};
use qiancheng_platform::time::new_id;
use qiancheng_platform::write::Change;
use qiancheng_platform::{Error, Stamp};

use crate::store::StoredDecision;
use crate::store::class::ClassRecord;
use crate::store::trainee::{self, Declared, PersonClass, SealedPerson, TraineeRecord};

/// The rules whose failure keeps a person off a roster.
pub const ENTRY_RULES: [&str; 6] = ["PERSON-ID", "ELIG-AGE", "ELIG-FISCAL", "ELIG-LOCAL", "ELIG-OVERLAP", "ELIG-ONCE"];

/// A person a filing or a roster change puts forward, validated at the edge.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Name.
    pub name: String,
    /// Resident ID number.
    pub id: IdNumber,
    /// Phone.
    pub phone: PhoneNumber,
    /// What the entry declares of them.
    pub declared: Declared,
    /// Keyed hash of the ID number under the newest data key: what a new row stores.
    pub hash: String,
    /// Its hash under every data key a stored row may still carry, the newest first: what
    /// lookups (ELIG-OVERLAP, ELIG-ONCE, duplicates) match.
    pub hashes: Vec<String>,
}

impl Candidate {
    /// The person's data sealed for storage.
    pub fn seal(&self, pii: &PiiCipher) -> Result<SealedPerson, Error> {
        Ok(SealedPerson {
            id_number_cipher: pii.encrypt(self.id.as_str())?,
            name_cipher: pii.encrypt(&self.name)?,
            phone_cipher: pii.encrypt(self.phone.as_str())?,
        })
    }

    /// The masked name.
    pub fn name_masked(&self) -> String {
        mask_name(&self.name)
    }

    /// The person as a new trainee of class `class_id` in `state`, added in roster version
    /// `added_version` (0 until a version adds them) on `today`, judged of `judged_group` with
    /// the decision `eligibility`, their data sealed with `pii`.
    pub fn trainee(
        &self,
        pii: &PiiCipher,
        class_id: &str,
        (state, added_version): (TraineeState, i64),
        (judged_group, eligibility): (TargetGroup, StoredDecision),
        today: NaiveDate,
    ) -> Result<TraineeRecord, Error> {
        Ok(TraineeRecord {
            id: new_id(),
            class_id: class_id.to_owned(),
            person_hash: self.hash.clone(),
            id_number_masked: self.id.masked(),
            name_masked: self.name_masked(),
            phone_masked: self.phone.masked(),
            declared: self.declared.clone(),
            judged_group,
            state,
            added_version,
            removed_version: 0,
            added_on: today,
            eligibility,
            assessment: None,
            completion: None,
            terminated_on: None,
            termination_reason: String::new(),
            stamp: Stamp::new(),
            sealed: self.seal(pii)?,
        })
    }
}

/// Validates one person of a filing or change (its fields under `field.`) beyond the declared
/// rules of their fields, recording every bad field in `v`.
pub fn candidate(input: &TraineeInput, field: &str, pii: &PiiCipher, v: &mut Violations) -> Option<Candidate> {
    let at = |name: &str| format!("{field}.{name}");
    let id = v.value(&at("id_number"), IdNumber::parse(&input.id_number));
    let phone = v.value(&at("phone"), PhoneNumber::parse(&input.phone));
    let group = v.value(&at("target_group"), convert::target_group(input.target_group));
    let level = v.value(&at("skill_level"), convert::skill_level(input.skill_level));
    let basis = v.value(&at("local_basis"), LocalBasisKind::from_proto(input.local_basis));
    let (Some(id), Some(phone), Some(group), Some(level), Some(basis)) = (id, phone, group, level, basis) else {
        return None;
    };
    let hashes = pii.lookup_hashes(id.as_str());
    let hash = pii.lookup_hash(id.as_str());
    Some(Candidate {
        name: input.person_name.trim().to_owned(),
        id,
        phone,
        declared: Declared {
            target_group: group,
            in_service: input.in_service,
            skill_level: level,
            budget_paid: input.budget_paid,
            local_basis: basis,
            local_basis_evidence: input.local_basis_evidence.trim().to_owned(),
            prehire_enterprise: input.prehire_enterprise.trim().to_owned(),
        },
        hash,
        hashes,
    })
}

/// What the class's project asks of its trainees (ELIG-ONCE, ELIG-PREHIRE).
#[derive(Debug, Clone, Copy)]
pub struct Project<'a> {
    /// The class as the rules see it.
    pub class: &'a ClassFacts,
    /// The project's occupation.
    pub occupation: &'a OccupationCode,
    /// The project's level.
    pub level: SkillLevel,
    /// The key project of a pre-hire class.
    pub key_project: Option<&'a KeyProject>,
}

impl<'a> Project<'a> {
    /// What `class` asks of its trainees, with the class as the rules see it (`facts`).
    pub fn of(class: &'a ClassRecord, facts: &'a ClassFacts) -> Self {
        Project {
            class: facts,
            occupation: &class.occupation,
            level: class.level,
            key_project: class.key_project.as_ref(),
        }
    }
}

/// Takes the turn of each person of `candidates` (ELIG-OVERLAP: changes naming one person wait
/// for each other; taken sorted, after the class's or project's turn, so that writers never wait
/// in a cycle) and reads every class whose roster holds one of them. Rows not yet moved to the
/// newest data key carry an older key's hash, so every key's hash is looked up.
pub async fn history_of(change: &mut Change, candidates: &[&Candidate]) -> Result<Vec<PersonClass>, Error> {
    let mut hashes: Vec<&str> = candidates.iter().map(|c| c.hash.as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    for hash in &hashes {
        change.serialize_on(&format!("person/{hash}")).await?;
    }
    let lookups: Vec<&str> = candidates.iter().flat_map(|c| c.hashes.iter().map(String::as_str)).collect();
    trainee::classes_of_people(&mut change.tx, &lookups).await
}

/// A person judged for a roster: the decision, and the rule that keeps them off it, if one does.
#[derive(Debug, Clone)]
pub struct Judged {
    /// Every eligibility rule, as the core decided.
    pub decision: Decision<TraineeStanding>,
    /// The first of [`ENTRY_RULES`] that failed.
    pub refusal: Option<RuleResult>,
}

/// Judges `candidate` for the class of `project`, put on its roster on `today`, knowing the
/// other classes whose rosters hold them (`history`, every class of every person judged; this
/// class's own rows are ignored).
pub fn judge(
    policy: &PolicySet,
    project: &Project<'_>,
    today: NaiveDate,
    candidate: &Candidate,
    history: &[PersonClass],
) -> Judged {
    let theirs = history.iter().filter(|h| candidate.hashes.contains(&h.person_hash) && h.class_id != project.class.id);
    let mut other_classes = Vec::new();
    let mut prior_subsidies = Vec::new();
    for place in theirs {
        other_classes.push(DateRange { from: place.first_day, to: place.last_day, filed_on: Some(place.filed_on) });
        // ELIG-ONCE: an earlier completion of an occupation and level counts as subsidised for it.
        if place.state == qiancheng_domain::lifecycle::TraineeState::Completed {
            prior_subsidies.push(PriorSubsidy { occupation: place.occupation.clone(), level: place.level });
        }
    }
    let facts = TraineeFacts {
        name: candidate.name_masked(),
        id_number: candidate.id.as_str().to_owned(),
        group: candidate.declared.target_group,
        budget_paid: candidate.declared.budget_paid,
        roster_added_on: Some(today),
        other_classes,
        prior_subsidies,
        contract_signed_on: None,
        local_basis: candidate
            .declared
            .local_basis
            .map(|kind| LocalBasis { kind, evidence: candidate.declared.local_basis_evidence.clone() }),
        supported_groups: Vec::new(),
        employed_on_first_day: candidate.declared.in_service,
    };
    let context = TraineeContext {
        class: project.class,
        occupation: project.occupation,
        level: project.level,
        key_project: project.key_project,
        as_of: today,
    };
    let decision = judge_trainee(policy, &context, &facts);
    let refusal = decision.rules.iter().find(|r| !r.passed && ENTRY_RULES.contains(&r.code.as_str())).cloned();
    Judged { decision, refusal }
}

/// The policy set a class was filed under: later decisions about it (completion, inspections)
/// are made under it, checked against the digest recorded with it.
pub fn policy_of_class(current: &PolicySet, version: &str, digest: &str) -> Result<PolicySet, Error> {
    if current.version == version && current.digest() == digest {
        return Ok(current.clone());
    }
    PolicySet::recorded(version, Some(digest))
        .map_err(|e| Error::Config(format!("the class was filed under policy set {version}, not loadable here: {e}")))
}

/// The person of a stored trainee, from their sealed data, to be judged again (an approved
/// addition, a refiled class). The stored hash may be an older data key's: the hashes are made
/// afresh from the number.
pub fn stored_candidate(pii: &PiiCipher, person: &TraineeRecord) -> Result<Candidate, Error> {
    let sealed = &person.sealed;
    let id = IdNumber::parse(&pii.decrypt(&sealed.id_number_cipher)?).map_err(|_| Error::corrupt("id_number"))?;
    let phone = PhoneNumber::parse(&pii.decrypt(&sealed.phone_cipher)?).map_err(|_| Error::corrupt("phone"))?;
    Ok(Candidate {
        name: pii.decrypt(&sealed.name_cipher)?,
        hash: pii.lookup_hash(id.as_str()),
        hashes: pii.lookup_hashes(id.as_str()),
        id,
        phone,
        declared: person.declared.clone(),
    })
}

/// Decides one trainee's completion (CLASS-ATTENDANCE, CLASS-COMPLETION) and sets their state.
pub fn decide_completion(
    policy: &PolicySet,
    class: &ClassRecord,
    person: &mut TraineeRecord,
    attended: i64,
    evaluated: bool,
) -> Result<(), Error> {
    let attended = u32::try_from(attended.max(0)).unwrap_or(u32::MAX);
    let decision = evaluate_completion_in(policy, class.hours(), attended, person.passed_assessment(), evaluated);
    person.completion = Some(StoredDecision::of(&decision, decision.outcome, &class.policy_digest));
    let next = if decision.outcome { TraineeState::Completed } else { TraineeState::NotCompleted };
    if person.state != next {
        person.state = person.state.to(next)?;
    }
    person.stamp.touch();
    Ok(())
}
