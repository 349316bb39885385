//! Watched trainees as the API shows them: class, project, county, outcome window, basis, and
//! whether they count in the rate (培训对象 who completed, each person once) or which rule leaves
//! them out.

use qiancheng_api::outcome::*;
use qiancheng_api::{convert, types};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error};

use crate::store::trainee::TraineeRecord;
use crate::{Outcome, access};

/// The trainee as the API shows it, under the project's policy set (for the basis and window).
fn trainee_of(r: &TraineeRecord, window_months: u32, basis: Basis) -> Trainee {
    Trainee {
        name: r.name(),
        roster_entry: r.roster_entry.clone(),
        class: format!("classes/{}", r.class_id),
        project: format!("projects/{}", r.project_id),
        provider_credit_code: r.provider_credit_code.clone(),
        region_code: r.region.code().to_owned(),
        person: Some(types::PersonRef {
            name: r.name_masked.clone(),
            id_number: r.id_number_masked.clone(),
            phone: String::new(),
        }),
        judged_group: convert::target_group_to_proto(r.judged_group),
        basis: basis as i32,
        window_first_date: Some(convert::date_to_proto(r.class_last_day)),
        window_last_date: Some(convert::date_to_proto(qiancheng_domain::add_months(r.class_last_day, window_months))),
        policy_version: r.policy_version.clone(),
        counted: r.counted(),
        excluded_by: r.excluded_by.clone(),
        prehire: r.prehire,
        prehire_enterprise: r.prehire_enterprise.clone(),
        occupation_code: r.occupation_code.clone(),
        update_time_micros: r.stamp.update_time_micros,
    }
}

async fn shown(s: &Outcome, records: &[TraineeRecord]) -> Result<Vec<Trainee>, Error> {
    let mut out = Vec::with_capacity(records.len());
    let mut policies = std::collections::HashMap::new();
    for r in records {
        if !policies.contains_key(&r.project_id) {
            let policy = crate::judge::project_policy(s.db.pool(), &r.project_id).await?;
            policies.insert(r.project_id.clone(), policy);
        }
        let (months, basis) = match policies.get(&r.project_id).and_then(Option::as_ref) {
            Some(p) => (p.outcome_window_months, crate::judge::basis_to_proto(p.basis_for(r.judged_group))),
            None => (6, Basis::Unspecified),
        };
        out.push(trainee_of(r, months, basis));
    }
    Ok(out)
}

/// GetTrainee.
pub async fn get_trainee(s: &Outcome, call: Call<GetTraineeRequest>) -> Result<GetTraineeResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let record = access::readable_trainee(s.db.pool(), &scope, &call.message.name, "name").await?;
    Ok(GetTraineeResponse { trainee: shown(s, &[record]).await?.pop() })
}

/// ListTrainees.
pub async fn list_trainees(s: &Outcome, call: Call<ListTraineesRequest>) -> Result<ListTraineesResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let project = (!m.project.is_empty())
        .then(|| convert::resource_id(&m.project, "projects").map_err(|e| Error::invalid_value("project", e)))
        .transpose()?;
    let class = (!m.class.is_empty())
        .then(|| convert::resource_id(&m.class, "classes").map_err(|e| Error::invalid_value("class", e)))
        .transpose()?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("trainees|{}|{}", m.project, m.class))?;
    let filter = Filter::new()
        .eq_given("watched_trainee.project_id", project)
        .eq_given("watched_trainee.class_id", class)
        .within(&scope, "watched_trainee.region_code", Some("watched_trainee.provider_credit_code"));
    let (records, next_page_token) = record::page::<TraineeRecord>(&s.db, filter, &page).await?;
    Ok(ListTraineesResponse { trainees: shown(s, &records).await?, next_page_token })
}
