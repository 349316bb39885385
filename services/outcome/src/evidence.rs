//! Evidence (七(四)): providers submit it for their own trainees and it waits for an officer;
//! officers record what they obtained and it counts at once. Each item keeps its document in
//! the content-addressed store with its SHA-256 and a retention period. A certificate is one
//! record per number, whichever way it arrived.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::outcome::*;
use qiancheng_domain::policy::WageRegion;
use qiancheng_domain::policy::facts::YearMonth;
use qiancheng_domain::{OccupationCode, Uscc};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Outcome;
use crate::access::{self, Scope};
use crate::documents::{Documents, MAX_DOCUMENT_BYTES};
use crate::store::evidence::EvidenceRecord;
use crate::store::trainee::TraineeRecord;
use crate::store::{decode_message, encode_message};

impl From<&EvidenceRecord> for Evidence {
    /// The item as the API shows it.
    fn from(r: &EvidenceRecord) -> Self {
        let input: EvidenceInput = decode_message(&r.detail, "an item of evidence").unwrap_or_default();
        let review = (!r.review.is_empty()).then(|| decode_message::<Review>(&r.review, "a review").ok()).flatten();
        let reexamination = (!r.reexamination.is_empty())
            .then(|| decode_message::<Reexamination>(&r.reexamination, "a re-examination").ok())
            .flatten();
        Evidence {
            name: r.name(),
            trainee: format!("trainees/{}", r.trainee_id),
            project: format!("projects/{}", r.project_id),
            class: format!("classes/{}", r.class_id),
            provider_credit_code: r.provider_credit_code.clone(),
            region_code: r.region.code().to_owned(),
            kind: EvidenceKind::from_str_name(&r.kind).unwrap_or_default() as i32,
            state: EvidenceState::from_str_name(&r.state).unwrap_or_default() as i32,
            source: EvidenceSource::from_str_name(&r.source).unwrap_or_default() as i32,
            contract: input.contract,
            insurance: input.insurance,
            wages: input.wages,
            business: input.business,
            operation: input.operation,
            service: input.service,
            service_payment: input.service_payment,
            certificate: input.certificate,
            prehire_contract: input.prehire_contract,
            document: Some(Document {
                sha256: r.document_sha256.clone(),
                media_type: r.media_type.clone(),
                size_bytes: r.size_bytes,
                retain_until_date: Some(convert::date_to_proto(r.retain_until)),
            }),
            review,
            reexamination,
            submitted_by: r.submitted_by.clone(),
            counts_from_date: r.counts_from.filter(|_| r.counts_until.is_none()).map(convert::date_to_proto),
            create_time_micros: r.stamp.create_time_micros,
            update_time_micros: r.stamp.update_time_micros,
            etag: r.stamp.etag(),
        }
    }
}

fn months(v: &mut Violations, field: &str, raw: &[String]) {
    for (i, m) in raw.iter().enumerate() {
        v.value(&format!("{field}[{i}]"), YearMonth::parse(m));
    }
}

fn credit_code(v: &mut Violations, field: &str, raw: &str) {
    v.value(field, Uscc::parse(raw));
}

fn date(v: &mut Violations, field: &str, raw: Option<&qiancheng_api::types::Date>) -> Option<NaiveDate> {
    v.value(field, convert::date(raw)).flatten()
}

/// Checks the detail of an item beyond what the proto declares: exactly the detail of its kind,
/// months, credit codes, codes and date ranges. Returns the certificate number, if any.
fn validate(input: &EvidenceInput, v: &mut Violations) {
    let kind = EvidenceKind::try_from(input.kind).unwrap_or_default();
    let given = [
        (EvidenceKind::Contract, input.contract.is_some(), "contract"),
        (EvidenceKind::Insurance, input.insurance.is_some(), "insurance"),
        (EvidenceKind::Wages, input.wages.is_some(), "wages"),
        (EvidenceKind::Business, input.business.is_some(), "business"),
        (EvidenceKind::Operation, input.operation.is_some(), "operation"),
        (EvidenceKind::Service, input.service.is_some(), "service"),
        (EvidenceKind::ServicePayment, input.service_payment.is_some(), "service_payment"),
        (EvidenceKind::Certificate, input.certificate.is_some(), "certificate"),
        (EvidenceKind::PrehireContract, input.prehire_contract.is_some(), "prehire_contract"),
    ];
    for (of, present, field) in given {
        if (of == kind) != present {
            let why = if present { "is the detail of another kind" } else { "is required by the item's kind" };
            v.add(&format!("evidence.{field}"), "OUT-EVIDENCE-KIND", format!("{field} {why}"));
        }
    }
    if let Some(c) = &input.contract {
        credit_code(v, "evidence.contract.employer_credit_code", &c.employer_credit_code);
        let from = date(v, "evidence.contract.signed_on", c.signed_on.as_ref());
        let to = date(v, "evidence.contract.ends_on", c.ends_on.as_ref());
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            v.add("evidence.contract.ends_on", "RANGE", "a contract ends after it is signed");
        }
    }
    if let Some(i) = &input.insurance {
        credit_code(v, "evidence.insurance.employer_credit_code", &i.employer_credit_code);
        months(v, "evidence.insurance.months", &i.months);
        if !i.region_code.is_empty() {
            v.value("evidence.insurance.region_code", WageRegion::parse(&i.region_code));
        }
        if i.agency_paid {
            credit_code(v, "evidence.insurance.agency_credit_code", &i.agency_credit_code);
        }
    }
    if let Some(w) = &input.wages {
        credit_code(v, "evidence.wages.employer_credit_code", &w.employer_credit_code);
        months(v, "evidence.wages.months", &w.months);
    }
    if let Some(b) = &input.business {
        credit_code(v, "evidence.business.credit_code", &b.credit_code);
        date(v, "evidence.business.registered_on", b.registered_on.as_ref());
    }
    if let Some(o) = &input.operation {
        credit_code(v, "evidence.operation.credit_code", &o.credit_code);
        months(v, "evidence.operation.months", &o.months);
    }
    if let Some(s) = &input.service {
        let from = date(v, "evidence.service.start_on", s.start_on.as_ref());
        let to = date(v, "evidence.service.end_on", s.end_on.as_ref());
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            v.add("evidence.service.end_on", "RANGE", "a service ends after it starts");
        }
        if !s.work_region_code.is_empty() {
            v.value("evidence.service.work_region_code", WageRegion::parse(&s.work_region_code));
        }
    }
    if let Some(p) = &input.service_payment {
        date(v, "evidence.service_payment.paid_on", p.paid_on.as_ref());
        months(v, "evidence.service_payment.note_months", &p.note_months);
    }
    if let Some(c) = &input.certificate {
        v.value("evidence.certificate.occupation_code", OccupationCode::parse(&c.occupation_code));
        date(v, "evidence.certificate.issued_on", c.issued_on.as_ref());
    }
    if let Some(p) = &input.prehire_contract {
        credit_code(v, "evidence.prehire_contract.enterprise_credit_code", &p.enterprise_credit_code);
        date(v, "evidence.prehire_contract.signed_on", p.signed_on.as_ref());
    }
    let size = input.document_content.len();
    if size == 0 || size > MAX_DOCUMENT_BYTES {
        v.add("evidence.document_content", "OUT-DOCUMENT", "a document of 1 byte to 4 MiB");
    }
}

/// Stores an item for `trainee`: its document, then the record in one write with its audit
/// entry; an officer's item counts at once and the verdict is recomputed.
async fn store(
    s: &Outcome,
    principal: &Principal,
    trainee: &TraineeRecord,
    input: &EvidenceInput,
    officer: bool,
    change: &mut qiancheng_platform::write::Change,
    sha256: &str,
) -> Result<EvidenceRecord, Error> {
    let today = s.today();
    let mut detail = input.clone();
    detail.document_content.clear();
    let certificate_number = input.certificate.as_ref().map(|c| c.number.trim().to_owned()).unwrap_or_default();
    if !certificate_number.is_empty()
        && crate::store::evidence::holding_certificate(&mut *change.tx, &certificate_number).await?.is_some()
    {
        return Err(Error::exists("OUT-CERT-DUPLICATE", "this certificate number is recorded already"));
    }
    let mut engagement_id = String::new();
    if let Some(p) = &input.service_payment {
        let engagement = access::reachable_evidence(
            &mut *change.tx,
            &Scope::All,
            &p.engagement,
            "evidence.service_payment.engagement",
        )
        .await
        .ok()
        .filter(|e| e.trainee_id == trainee.id && e.kind == EvidenceKind::Service.as_str_name());
        let Some(engagement) = engagement else {
            return Err(Error::invalid(
                "evidence.service_payment.engagement",
                "OUT-EVIDENCE-KIND",
                "a payment names a service engagement of the same trainee",
            ));
        };
        engagement_id = engagement.id;
    }
    let (state, source, counts_from) = if officer {
        (EvidenceState::Accepted, EvidenceSource::Officer, Some(today))
    } else {
        (EvidenceState::Pending, EvidenceSource::Provider, None)
    };
    let record = EvidenceRecord {
        id: ulid::Ulid::new().to_string(),
        trainee_id: trainee.id.clone(),
        project_id: trainee.project_id.clone(),
        class_id: trainee.class_id.clone(),
        provider_credit_code: trainee.provider_credit_code.clone(),
        region: trainee.region,
        kind: EvidenceKind::try_from(input.kind).unwrap_or_default().as_str_name().to_owned(),
        state: state.as_str_name().to_owned(),
        source: source.as_str_name().to_owned(),
        detail: encode_message(&detail),
        certificate_number,
        engagement_id,
        document_sha256: sha256.to_owned(),
        media_type: input.media_type.trim().to_owned(),
        size_bytes: i64::try_from(input.document_content.len()).unwrap_or(i64::MAX),
        retain_until: Documents::retain_until(today),
        review: String::new(),
        reexamination: String::new(),
        submitted_by: principal.subject.clone(),
        counts_from,
        counts_until: None,
        stamp: Stamp::new(),
    };
    record::insert(&mut change.tx, &record).await?;
    change.audit(
        if officer { "record_evidence" } else { "submit_evidence" },
        record.name(),
        serde_json::json!({ "trainee": trainee.name(), "kind": record.kind, "sha256": sha256 }),
    );
    Ok(record)
}

/// SubmitEvidence.
pub async fn submit_evidence(s: &Outcome, call: Call<SubmitEvidenceRequest>) -> Result<SubmitEvidenceResponse, Error> {
    let org = call.principal.own_org(Role::Provider)?.to_owned();
    let scope = Scope::Org(org);
    let input = call.message.evidence.clone().unwrap_or_default();
    let mut v = Violations::default();
    validate(&input, &mut v);
    v.finish()?;
    let trainee = access::readable_trainee(s.db.pool(), &scope, &input.trainee, "evidence.trainee").await?;
    if let Some(done) = write::served(s, &call).await? {
        return Ok(done);
    }
    let sha256 = s.documents().put(&input.document_content, s.today()).await?;
    write::run(s, &call, async |change| {
        let record = store(s, &call.principal, &trainee, &input, false, change, &sha256).await?;
        Ok(SubmitEvidenceResponse { evidence: Some(Evidence::from(&record)) })
    })
    .await
}

/// RecordEvidence.
pub async fn record_evidence(s: &Outcome, call: Call<RecordEvidenceRequest>) -> Result<RecordEvidenceResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let input = call.message.evidence.clone().unwrap_or_default();
    let mut v = Violations::default();
    validate(&input, &mut v);
    v.finish()?;
    let trainee = access::readable_trainee(s.db.pool(), &scope, &input.trainee, "evidence.trainee").await?;
    if let Some(done) = write::served(s, &call).await? {
        return Ok(done);
    }
    let sha256 = s.documents().put(&input.document_content, s.today()).await?;
    write::run(s, &call, async |change| {
        let record = store(s, &call.principal, &trainee, &input, true, change, &sha256).await?;
        crate::judge::recompute_trainee(change, s, &trainee.id, &record.name()).await?;
        let verdict = crate::judge::current(&mut *change.tx, &trainee.id).await?;
        Ok(RecordEvidenceResponse { evidence: Some(Evidence::from(&record)), verdict })
    })
    .await
}

/// GetEvidence.
pub async fn get_evidence(s: &Outcome, call: Call<GetEvidenceRequest>) -> Result<GetEvidenceResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let record = access::reachable_evidence(s.db.pool(), &scope, &call.message.name, "name").await?;
    Ok(GetEvidenceResponse { evidence: Some(Evidence::from(&record)) })
}

/// ListEvidence.
pub async fn list_evidence(s: &Outcome, call: Call<ListEvidenceRequest>) -> Result<ListEvidenceResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let trainee = (!m.trainee.is_empty())
        .then(|| convert::resource_id(&m.trainee, "trainees").map_err(|e| Error::invalid_value("trainee", e)))
        .transpose()?;
    let project = (!m.project.is_empty())
        .then(|| convert::resource_id(&m.project, "projects").map_err(|e| Error::invalid_value("project", e)))
        .transpose()?;
    let kind = EvidenceKind::try_from(m.kind).ok().filter(|k| *k != EvidenceKind::Unspecified).map(|k| k.as_str_name());
    let state =
        EvidenceState::try_from(m.state).ok().filter(|k| *k != EvidenceState::Unspecified).map(|k| k.as_str_name());
    let page = PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("evidence|{}|{}|{}|{}", m.trainee, m.project, m.kind, m.state),
    )?;
    let filter = Filter::new()
        .eq_given("evidence.trainee_id", trainee)
        .eq_given("evidence.project_id", project)
        .eq_given("evidence.kind", kind)
        .eq_given("evidence.state", state)
        .within(&scope, "evidence.region_code", Some("evidence.provider_credit_code"));
    let (records, next_page_token) = record::page::<EvidenceRecord>(&s.db, filter, &page).await?;
    Ok(ListEvidenceResponse { evidence: records.iter().map(Evidence::from).collect(), next_page_token })
}

/// GetEvidenceDocument.
pub async fn get_evidence_document(
    s: &Outcome,
    call: Call<GetEvidenceDocumentRequest>,
) -> Result<GetEvidenceDocumentResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let record = access::reachable_evidence(s.db.pool(), &scope, &call.message.name, "name").await?;
    let content =
        if record.document_sha256.is_empty() { Vec::new() } else { s.documents().get(&record.document_sha256).await? };
    Ok(GetEvidenceDocumentResponse { document: Evidence::from(&record).document, content })
}
