//! Verdicts as the API shows them (OUT-*): a trainee's current verdict, the verdicts of a project
//! or class, a verdict's history, and the accepted pre-hire contracts subsidy needs
//! (ELIG-PREHIRE). They are decided and kept by [`crate::judge`].

use qiancheng_api::convert;
use qiancheng_api::outcome::*;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error};

use crate::store::decode_message;
use crate::store::evidence::EvidenceRecord;
use crate::store::verdict::{VerdictHistoryRecord, VerdictRecord};
use crate::{Outcome, access, exchange};

/// GetVerdict.
pub async fn get_verdict(s: &Outcome, call: Call<GetVerdictRequest>) -> Result<GetVerdictResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let id = qiancheng_platform::call::id_of(&call.message.name, "verdicts", "name")?;
    let record =
        record::find::<VerdictRecord>(s.db.pool(), id).await?.ok_or_else(|| scope.missing(&call.message.name))?;
    scope.check(record.region, &record.provider_credit_code)?;
    let mut verdict: Verdict = decode_message(&record.body, "a verdict")?;
    verdict.exchange = exchange::answers_of(s.db.pool(), &[id]).await?.remove(id).unwrap_or_default();
    Ok(GetVerdictResponse { verdict: Some(verdict) })
}

fn project_and_class_filter(project: &str, class: &str, table: &str) -> Result<Filter, Error> {
    let project = (!project.is_empty())
        .then(|| convert::resource_id(project, "projects").map_err(|e| Error::invalid_value("project", e)))
        .transpose()?;
    let class = (!class.is_empty())
        .then(|| convert::resource_id(class, "classes").map_err(|e| Error::invalid_value("class", e)))
        .transpose()?;
    Ok(Filter::new().eq_given(&format!("{table}.project_id"), project).eq_given(&format!("{table}.class_id"), class))
}

/// ListVerdicts.
pub async fn list_verdicts(s: &Outcome, call: Call<ListVerdictsRequest>) -> Result<ListVerdictsResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("verdicts|{}|{}", m.project, m.class))?;
    let filter = project_and_class_filter(&m.project, &m.class, "verdict")?.within(
        &scope,
        "verdict.region_code",
        Some("verdict.provider_credit_code"),
    );
    let (records, next_page_token) = record::page::<VerdictRecord>(&s.db, filter, &page).await?;
    let mut verdicts: Vec<Verdict> =
        records.iter().map(|r| decode_message(&r.body, "a verdict")).collect::<Result<_, Error>>()?;
    let ids: Vec<&str> = records.iter().map(|r| r.trainee_id.as_str()).collect();
    let mut answers = exchange::answers_of(s.db.pool(), &ids).await?;
    for (verdict, r) in verdicts.iter_mut().zip(&records) {
        verdict.exchange = answers.remove(&r.trainee_id).unwrap_or_default();
    }
    Ok(ListVerdictsResponse { verdicts, next_page_token })
}

/// ListVerdictHistory.
pub async fn list_verdict_history(
    s: &Outcome,
    call: Call<ListVerdictHistoryRequest>,
) -> Result<ListVerdictHistoryResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let id = qiancheng_platform::call::id_of(&m.name, "verdicts", "name")?;
    let record = record::find::<VerdictRecord>(s.db.pool(), id).await?.ok_or_else(|| scope.missing(&m.name))?;
    scope.check(record.region, &record.provider_credit_code)?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("verdictHistory|{id}"))?;
    let after: i64 = if page.after.is_empty() { i64::MAX } else { page.after.parse().unwrap_or(0) };
    let rows = record::take::<VerdictHistoryRecord>(
        s.db.pool(),
        Filter::new().eq("verdict_history.trainee_id", id).and("verdict_history.revision < ?", [after.into()]),
        "revision DESC",
        page.fetch_limit(),
    )
    .await?;
    let mut rows = rows;
    let next_page_token = page.finish(&mut rows, |r| r.revision.to_string());
    let verdicts = rows.iter().map(|r| decode_message(&r.body, "a verdict")).collect::<Result<_, Error>>()?;
    Ok(ListVerdictHistoryResponse { verdicts, next_page_token })
}

/// ListPrehireContracts.
pub async fn list_prehire_contracts(
    s: &Outcome,
    call: Call<ListPrehireContractsRequest>,
) -> Result<ListPrehireContractsResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("prehire|{}", m.project))?;
    let filter = project_and_class_filter(&m.project, "", "evidence")?
        .eq("evidence.kind", EvidenceKind::PrehireContract.as_str_name())
        .eq("evidence.state", EvidenceState::Accepted.as_str_name())
        .within(&scope, "evidence.region_code", Some("evidence.provider_credit_code"));
    let (records, next_page_token) = record::page::<EvidenceRecord>(&s.db, filter, &page).await?;
    let mut contracts = Vec::with_capacity(records.len());
    for r in &records {
        let input: EvidenceInput = decode_message(&r.detail, "an item of evidence")?;
        let c = input.prehire_contract.unwrap_or_default();
        contracts.push(PrehireContract {
            trainee: format!("trainees/{}", r.trainee_id),
            project: format!("projects/{}", r.project_id),
            enterprise_credit_code: c.enterprise_credit_code,
            signed_on: c.signed_on,
            evidence: r.name(),
        });
    }
    Ok(ListPrehireContractsResponse { contracts, next_page_token })
}
