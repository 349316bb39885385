//! Uplift policies (其他上浮政策, SUBS-UPLIFT): a versioned table the city keeps (name,
//! document, who qualifies, percent), and each trainee's uplifts recorded with their basis. A
//! claim carries a trainee's uplifts at the percent of the version in force on the class's first
//! day; the policy core decides whether they compete with the tier (the 200% tier only).

use chrono::NaiveDate;
use qiancheng_api::subsidy::*;
use qiancheng_api::{FromProto as _, IntoProto as _};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, write};

use crate::Subsidy;
use crate::access;
use crate::store::uplift::{self as store, TraineeUpliftRecord, UpliftPolicyRecord};

impl From<&UpliftPolicyRecord> for UpliftPolicy {
    /// The version as the API shows it.
    fn from(record: &UpliftPolicyRecord) -> Self {
        UpliftPolicy {
            name: record.name(),
            code: record.code.clone(),
            version: record.version,
            display_name: record.display_name.clone(),
            document_number: record.document_number.clone(),
            qualifies: record.qualifies.clone(),
            percent: i32::try_from(record.percent).unwrap_or(i32::MAX),
            effective_from: Some(record.effective_from.into_proto()),
            created_by: record.created_by.clone(),
            create_time_micros: record.create_time_micros,
        }
    }
}

impl From<&TraineeUpliftRecord> for TraineeUplift {
    /// The uplift as the API shows it.
    fn from(record: &TraineeUpliftRecord) -> Self {
        TraineeUplift {
            name: record.name(),
            project: format!("projects/{}", record.project_id),
            trainee: record.trainee.clone(),
            policy_code: record.policy_code.clone(),
            basis: record.basis.clone(),
            region_code: record.region.code().to_owned(),
            recorded_by: record.recorded_by.clone(),
            create_time_micros: record.create_time_micros,
        }
    }
}

/// A policy code: letters, digits and dashes, so that it names a resource cleanly.
fn valid_code(code: &str) -> bool {
    !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// CreateUpliftPolicy.
pub async fn create_uplift_policy(
    s: &Subsidy,
    call: Call<CreateUpliftPolicyRequest>,
) -> Result<CreateUpliftPolicyResponse, Error> {
    access::keep_tables(&call.principal)?;
    let input = call.message.uplift_policy.clone().unwrap_or_default();
    let mut v = Violations::default();
    let code = input.code.trim().to_owned();
    if !valid_code(&code) {
        v.add("uplift_policy.code", "SUBS-UPLIFT", "a policy code is letters, digits and dashes");
    }
    let from = v.value("uplift_policy.effective_from", NaiveDate::required(input.effective_from.as_ref()));
    v.finish()?;
    let Some(from) = from else { unreachable!("a missing day was recorded as a violation, and finish() refused it") };
    write::run(s, &call, async |change| {
        let versions = store::versions(&mut *change.tx, &code).await?;
        if let Some(last) = versions.last()
            && from <= last.effective_from
        {
            return Err(Error::invalid(
                "uplift_policy.effective_from",
                "SUBS-UPLIFT",
                format!("a new version takes effect after version {} ({})", last.version, last.effective_from),
            ));
        }
        let version = versions.last().map_or(1, |last| last.version + 1);
        let record = UpliftPolicyRecord {
            id: UpliftPolicyRecord::id_of(&code, version),
            code: code.clone(),
            version,
            display_name: input.display_name.trim().to_owned(),
            document_number: input.document_number.trim().to_owned(),
            qualifies: input.qualifies.trim().to_owned(),
            percent: u32::try_from(input.percent).unwrap_or(0),
            effective_from: from,
            created_by: call.principal.subject.clone(),
            create_time_micros: qiancheng_platform::time::now_micros(),
        };
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "uplift_policy.create",
            record.name(),
            serde_json::json!({ "percent": record.percent, "document_number": record.document_number,
                "effective_from": record.effective_from }),
        );
        Ok(CreateUpliftPolicyResponse { uplift_policy: Some(UpliftPolicy::from(&record)) })
    })
    .await
}

/// ListUpliftPolicies.
pub async fn list_uplift_policies(
    s: &Subsidy,
    call: Call<ListUpliftPoliciesRequest>,
) -> Result<ListUpliftPoliciesResponse, Error> {
    let m = &call.message;
    let page = PageRequest::parse(m.page_size, &m.page_token, "upliftPolicies")?;
    let (records, next_page_token) = record::page::<UpliftPolicyRecord>(&s.db, Filter::new(), &page).await?;
    Ok(ListUpliftPoliciesResponse {
        uplift_policies: records.iter().map(UpliftPolicy::from).collect(),
        next_page_token,
    })
}

/// RecordTraineeUplift.
pub async fn record_trainee_uplift(
    s: &Subsidy,
    call: Call<RecordTraineeUpliftRequest>,
) -> Result<RecordTraineeUpliftResponse, Error> {
    let scope = access::uplift_write_scope(&call.principal)?;
    let input = call.message.trainee_uplift.clone().unwrap_or_default();
    let project_id = id_of(&input.project, "projects", "trainee_uplift.project")?.to_owned();
    let trainee = input.trainee.trim().to_owned();
    let code = input.policy_code.trim().to_owned();
    if !trainee.starts_with("classes/") || !trainee.contains("/trainees/") {
        return Err(Error::invalid(
            "trainee_uplift.trainee",
            "RESOURCE-NAME",
            "a trainee is named as supervision names it: classes/{class}/trainees/{trainee}",
        ));
    }
    // Asked before the transaction: the project's county decides who may record.
    let project = s.ports.selection.project(&input.project).await?;
    scope.check(project.region, "")?;
    write::run(s, &call, async |change| {
        if store::versions(&mut *change.tx, &code).await?.is_empty() {
            return Err(Error::invalid(
                "trainee_uplift.policy_code",
                "SUBS-UPLIFT",
                "no uplift policy has that code; the city adds it first",
            ));
        }
        let existing = record::first::<TraineeUpliftRecord>(
            &mut *change.tx,
            Filter::new().eq("tu.trainee", trainee.as_str()).eq("tu.policy_code", code.as_str()),
        )
        .await?;
        if existing.is_some() {
            return Err(Error::exists("TRAINEE_UPLIFT_EXISTS", "that uplift is already recorded for the trainee"));
        }
        let record = TraineeUpliftRecord {
            id: qiancheng_platform::time::new_id(),
            project_id: project_id.clone(),
            trainee: trainee.clone(),
            policy_code: code.clone(),
            basis: input.basis.trim().to_owned(),
            region: project.region,
            recorded_by: call.principal.subject.clone(),
            create_time_micros: qiancheng_platform::time::now_micros(),
        };
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "trainee_uplift.record",
            record.name(),
            serde_json::json!({ "project": input.project, "policy_code": record.policy_code }),
        );
        Ok(RecordTraineeUpliftResponse { trainee_uplift: Some(TraineeUplift::from(&record)) })
    })
    .await
}

/// ListTraineeUplifts.
pub async fn list_trainee_uplifts(
    s: &Subsidy,
    call: Call<ListTraineeUpliftsRequest>,
) -> Result<ListTraineeUpliftsResponse, Error> {
    let scope = access::uplift_read_scope(&call.principal)?;
    let m = &call.message;
    let project_id = id_of(&m.project, "projects", "project")?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("traineeUplifts|{project_id}"))?;
    let filter = Filter::new().eq("tu.project_id", project_id).within(&scope, "tu.region_code", None);
    let (records, next_page_token) = record::page::<TraineeUpliftRecord>(&s.db, filter, &page).await?;
    Ok(ListTraineeUpliftsResponse {
        trainee_uplifts: records.iter().map(TraineeUplift::from).collect(),
        next_page_token,
    })
}
