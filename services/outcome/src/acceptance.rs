//! The bureau's 综合评估和验收 of a project (OUT-ACCEPTANCE): recorded by an officer of the
//! project's county once every class of it has completed or stopped, accepted or refused with
//! reasons, with the project's rates on the day; a later record replaces it (the audit log keeps
//! the earlier). Subsidy requires it before a claim is reviewed.

use chrono::NaiveDate;
use qiancheng_api::outcome::*;
use qiancheng_api::{FromProto as _, convert};
use qiancheng_platform::call::id_of;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::store::acceptance::AcceptanceRecord;
use crate::store::trainee::TraineeRecord;
use crate::{Outcome, access};

impl From<&AcceptanceRecord> for Acceptance {
    /// The acceptance as the API shows it.
    fn from(r: &AcceptanceRecord) -> Self {
        Acceptance {
            name: format!("acceptances/{}", r.project_id),
            project: format!("projects/{}", r.project_id),
            accepted: r.accepted,
            reasons: r.reasons.clone(),
            decided_on: Some(convert::date_to_proto(r.decided_on)),
            recorded_by: r.recorded_by.clone(),
            rates: r
                .rates
                .iter()
                .map(|(basis, numerator, denominator)| Rate {
                    basis: Basis::from_str_name(basis).unwrap_or_default() as i32,
                    numerator: *numerator,
                    denominator: *denominator,
                })
                .collect(),
            create_time_micros: r.stamp.create_time_micros,
            update_time_micros: r.stamp.update_time_micros,
            etag: r.stamp.etag(),
        }
    }
}

/// RecordAcceptance.
pub async fn record_acceptance(
    s: &Outcome,
    call: Call<RecordAcceptanceRequest>,
) -> Result<RecordAcceptanceResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let project_id = id_of(&m.project, "projects", "project")?.to_owned();
    let decided_on = NaiveDate::from_proto(m.decided_on.as_ref())
        .map_err(|e| Error::invalid_value("decided_on", e))?
        .ok_or_else(|| Error::invalid("decided_on", "REQUIRED", "decided_on is required"))?;
    let reasons: Vec<String> = m.reasons.iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
    if !m.accepted && reasons.is_empty() {
        return Err(Error::invalid("reasons", "OUT-ACCEPTANCE", "a refusal gives its reasons"));
    }
    if decided_on > s.today() {
        return Err(Error::invalid("decided_on", "DATE", "the bureau decided on a day that has come"));
    }
    write::run(s, &call, async |change| {
        let trainees = record::all::<TraineeRecord>(
            &mut *change.tx,
            Filter::new().eq("watched_trainee.project_id", project_id.as_str()),
            "id",
        )
        .await?;
        let Some(first) = trainees.first() else { return Err(scope.missing(&m.project)) };
        scope.check(first.region, &first.provider_credit_code)?;
        if trainees.iter().any(|t| !t.class_completed) {
            return Err(Error::precondition(
                "OUT-ACCEPTANCE",
                "a project is accepted once every class of it has completed or stopped",
            ));
        }
        let rates = match crate::judge::rates_on(s, &project_id, decided_on).await? {
            Some(r) => r
                .rates
                .iter()
                .map(|r| {
                    (Basis::try_from(r.basis).unwrap_or_default().as_str_name().to_owned(), r.numerator, r.denominator)
                })
                .collect(),
            None => Vec::new(),
        };
        let stored = record::find::<AcceptanceRecord>(&mut *change.tx, project_id.as_str()).await?;
        let mut record = AcceptanceRecord {
            project_id: project_id.clone(),
            region: first.region,
            provider_credit_code: first.provider_credit_code.clone(),
            accepted: m.accepted,
            reasons: reasons.clone(),
            decided_on,
            recorded_by: call.principal.subject.clone(),
            rates,
            stamp: Stamp::new(),
        };
        match stored {
            Some(stored) => {
                stored.stamp.check(&m.etag)?;
                record.stamp = stored.stamp;
                record.stamp.touch();
                record::update(&mut change.tx, &record).await?;
            }
            None => record::insert(&mut change.tx, &record).await?,
        }
        change.audit(
            "record_acceptance",
            format!("acceptances/{project_id}"),
            serde_json::json!({ "accepted": m.accepted, "reasons": reasons, "decided_on": decided_on.to_string() }),
        );
        Ok(RecordAcceptanceResponse { acceptance: Some(Acceptance::from(&record)) })
    })
    .await
}

/// GetAcceptance.
pub async fn get_acceptance(s: &Outcome, call: Call<GetAcceptanceRequest>) -> Result<GetAcceptanceResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let id = id_of(&call.message.name, "acceptances", "name")?;
    let record =
        record::find::<AcceptanceRecord>(s.db.pool(), id).await?.ok_or_else(|| scope.missing(&call.message.name))?;
    scope.check(record.region, &record.provider_credit_code)?;
    Ok(GetAcceptanceResponse { acceptance: Some(Acceptance::from(&record)) })
}
