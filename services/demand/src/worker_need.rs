//! Workers' employment and training needs (劳动者就业和培训需求, 二(一)): the person, their
//! county and target group, the industry, occupation and pay they want, the occupation and level
//! they already hold, and whether they want training and in what.
//!
//! The resident ID number, name and phone are stored encrypted with a keyed hash of the ID number
//! beside them, so a person is recorded once; responses show them masked.

use qiancheng_api::convert::Shown as _;
use qiancheng_api::demand::*;
use qiancheng_api::types::PersonRef;
use qiancheng_api::{FromProto as _, convert};
use qiancheng_domain::{IdNumber, Industry, PhoneNumber, RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::pii::mask_name;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::new_id;
use qiancheng_platform::{Call, Error, Shared, Stamp, write};

use crate::access;
use crate::store::worker_need::{SealedPerson, WorkerNeedRecord};

/// Turns the need fields of `input` (those `paths` names, or all) into `record`'s values (the
/// person fields are not touched); the proto's field rules have been checked. A level held, or
/// training wanted, needs its occupation.
fn apply_need(input: &WorkerNeedInput, record: &mut WorkerNeedRecord, paths: Option<&[String]>, v: &mut Violations) {
    let wants = |name: &str| paths.is_none_or(|p| p.iter().any(|x| x == name));
    let field = |name: &str| format!("worker_need.{name}");
    // Each named field is parsed at the edge; a bad one is recorded and leaves the record as it was.
    macro_rules! apply {
        ($name:literal, $parsed:expr, $target:expr) => {
            if wants($name)
                && let Some(value) = v.value(&field($name), $parsed)
            {
                $target = value;
            }
        };
    }
    apply!("region_code", convert::county(&input.region_code), record.region);
    apply!("target_group", TargetGroup::required(input.target_group), record.target_group);
    apply!("wanted_industry", Industry::from_proto(input.wanted_industry), record.wanted_industry);
    apply!(
        "wanted_occupation_code",
        convert::optional_occupation(&input.wanted_occupation_code),
        record.wanted_occupation_code
    );
    apply!("wanted_occupation_name", Ok(input.wanted_occupation_name.trim().to_owned()), record.wanted_occupation_name);
    apply!("wanted_pay_min_fen", Ok(input.wanted_pay_min_fen), record.wanted_pay_min_fen);
    apply!(
        "held_occupation_code",
        convert::optional_occupation(&input.held_occupation_code),
        record.held_occupation_code
    );
    apply!("held_skill_level", SkillLevel::from_proto(input.held_skill_level), record.held_skill_level);
    apply!("wants_training", Ok(input.wants_training), record.wants_training);
    let training = convert::optional_occupation(&input.training_occupation_code);
    apply!("training_occupation_code", training, record.training_occupation_code);
    apply!("training_skill_level", SkillLevel::from_proto(input.training_skill_level), record.training_skill_level);
    // A level held means nothing without the occupation it is held in.
    if record.held_skill_level.is_some() && record.held_occupation_code.is_none() {
        v.add(&field("held_occupation_code"), "REQUIRED", "a held skill level needs the occupation it is held in");
    }
    if record.wants_training && record.training_occupation_code.is_none() {
        v.add(&field("training_occupation_code"), "REQUIRED", "a worker who wants training says in which occupation");
    }
}

impl From<&WorkerNeedRecord> for WorkerNeed {
    /// The need as the API shows it, person masked.
    fn from(record: &WorkerNeedRecord) -> Self {
        WorkerNeed {
            name: record.name(),
            person: Some(PersonRef {
                name: record.name_masked.clone(),
                id_number: record.id_number_masked.clone(),
                phone: record.phone_masked.clone(),
            }),
            ..record.shown()
        }
    }
}

/// CreateWorkerNeed.
pub async fn create_worker_need(
    s: &Shared,
    call: Call<CreateWorkerNeedRequest>,
) -> Result<CreateWorkerNeedResponse, Error> {
    let scope = access::worker_write_scope(&call.principal)?;
    let input = call.message.worker_need.clone().unwrap_or_default();
    let mut v = Violations::default();
    let person_name = input.person_name.trim();
    let id_number = v.value("worker_need.id_number", IdNumber::parse(&input.id_number));
    let phone = v.value("worker_need.phone", PhoneNumber::parse(&input.phone));
    let mut record = WorkerNeedRecord {
        id: new_id(),
        id_number_masked: id_number.as_ref().map(IdNumber::masked).unwrap_or_default(),
        name_masked: mask_name(person_name),
        phone_masked: phone.as_ref().map(PhoneNumber::masked).unwrap_or_default(),
        region: RegionCode::CITY,
        target_group: TargetGroup::OtherEligible,
        wanted_industry: None,
        wanted_occupation_code: None,
        wanted_occupation_name: String::new(),
        wanted_pay_min_fen: 0,
        held_occupation_code: None,
        held_skill_level: None,
        wants_training: false,
        training_occupation_code: None,
        training_skill_level: None,
        created_by: call.principal.subject.clone(),
        person: SealedPerson::default(),
        stamp: Stamp::new(),
    };
    apply_need(&input, &mut record, None, &mut v);
    v.finish()?;
    let (Some(id_number), Some(phone)) = (id_number, phone) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    scope.check(record.region, "")?;
    // Rows not yet moved to the newest data key carry an older key's hash: the duplicate check
    // consults each (one person, one record, across keys).
    let person_hashes = s.pii.lookup_hashes(id_number.as_str());
    record.person = SealedPerson {
        id_number_hash: s.pii.lookup_hash(id_number.as_str()),
        id_number_cipher: s.pii.encrypt(id_number.as_str())?,
        name_cipher: s.pii.encrypt(person_name)?,
        phone_cipher: s.pii.encrypt(phone.as_str())?,
    };
    let created = write::run(s, &call, async |change| {
        let same_person = Filter::new().among("worker_need.id_number_hash", &person_hashes);
        if let Some(existing) = record::first::<WorkerNeedRecord>(&mut *change.tx, same_person).await? {
            let (existing, region) = (existing.id, existing.region);
            // What an officer may learn: that the person is recorded already (one person, one
            // record), and where only if that record is theirs to read. The lookup itself is
            // audited below.
            return Err(Error::exists(
                "WORKER_NEED_EXISTS",
                if scope.admits(region, "") {
                    format!("this person's need is already recorded as workerNeeds/{existing}; update it instead")
                } else {
                    "this person's need is already recorded elsewhere; ask the city to move it".to_owned()
                },
            ));
        }
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "worker_need.create",
            record.name(),
            serde_json::json!({ "person": record.id_number_masked, "region": record.region.code(),
                "target_group": record.target_group.code(), "wants_training": record.wants_training }),
        );
        Ok(CreateWorkerNeedResponse { worker_need: Some(WorkerNeed::from(&record)) })
    })
    .await;
    if let Err(Error::AlreadyExists { reason, .. }) = &created
        && reason == "WORKER_NEED_EXISTS"
    {
        // The refusal told the caller that this person is known: that lookup leaves a trace.
        write::audit_alone(
            s,
            &call.principal.subject,
            "worker_need.duplicate_refused",
            "workerNeeds",
            serde_json::json!({ "person": record.id_number_masked, "caller_region": record.region.code() }),
        )
        .await?;
    }
    created
}

/// GetWorkerNeed.
pub async fn get_worker_need(s: &Shared, call: Call<GetWorkerNeedRequest>) -> Result<GetWorkerNeedResponse, Error> {
    let record = access::readable_worker_need(s.db.pool(), &call.principal, &call.message.name, "name").await?;
    Ok(GetWorkerNeedResponse { worker_need: Some(WorkerNeed::from(&record)) })
}

/// ListWorkerNeeds.
pub async fn list_worker_needs(
    s: &Shared,
    call: Call<ListWorkerNeedsRequest>,
) -> Result<ListWorkerNeedsResponse, Error> {
    let scope = access::worker_read_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    v.finish()?;
    let region = region.map(|r| r.code());
    let fingerprint = format!("workerNeeds|{}|{}", region.unwrap_or_default(), m.wants_training_only);
    let page = PageRequest::parse(m.page_size, &m.page_token, &fingerprint)?;
    let mut filter =
        Filter::new().eq_given("worker_need.region_code", region).within(&scope, "worker_need.region_code", None);
    if m.wants_training_only {
        filter = filter.eq("worker_need.wants_training", 1);
    }
    let (records, next_page_token) = record::page::<WorkerNeedRecord>(&s.db, filter, &page).await?;
    Ok(ListWorkerNeedsResponse { worker_needs: records.iter().map(WorkerNeed::from).collect(), next_page_token })
}

/// UpdateWorkerNeed.
pub async fn update_worker_need(
    s: &Shared,
    call: Call<UpdateWorkerNeedRequest>,
) -> Result<UpdateWorkerNeedResponse, Error> {
    let scope = access::worker_write_scope(&call.principal)?;
    let m = &call.message;
    let id = id_of(&m.name, "workerNeeds", "name")?;
    let mask = UpdateMask::parse(
        m.update_mask.as_ref(),
        &[
            "region_code",
            "target_group",
            "wanted_industry",
            "wanted_occupation_code",
            "wanted_occupation_name",
            "wanted_pay_min_fen",
            "held_occupation_code",
            "held_skill_level",
            "wants_training",
            "training_occupation_code",
            "training_skill_level",
        ],
    )?;
    write::run(s, &call, async |change| {
        let found = record::find::<WorkerNeedRecord>(&mut *change.tx, id).await?;
        let mut found = found.ok_or_else(|| scope.missing(&m.name))?;
        scope.check(found.region, "")?;
        found.stamp.check(&m.etag)?;
        let input = m.worker_need.clone().unwrap_or_default();
        let mut v = Violations::default();
        v.declared_in(&input, "worker_need.", mask.paths());
        apply_need(&input, &mut found, Some(mask.paths()), &mut v);
        v.finish()?;
        // The new county must be inside the officer's scope too.
        scope.check(found.region, "")?;
        found.stamp.touch();
        record::update(&mut change.tx, &found).await?;
        change.audit("worker_need.update", found.name(), serde_json::json!({ "fields": mask.paths() }));
        Ok(UpdateWorkerNeedResponse { worker_need: Some(WorkerNeed::from(&found)) })
    })
    .await
}
