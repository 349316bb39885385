//! The public notice of reviewed claims and the objections raised against them (公示, 异议;
//! SUBS-NOTICE). The notice is public: anyone reads it without an account, the trainees' names
//! masked (张*三) and no ID number shown. Anyone may object during the notice without an account
//! (a public, rate-limited RPC: `qiancheng.type.v1.public_limit`), leaving a contact that is
//! sealed like every other personal datum; officers of the filing bureau record objections
//! received by telephone, letter or in person, and resolve each with a finding. An upheld
//! objection returns the claim to review: it is calculated again from its snapshot, its review
//! and notice are void, and a new review puts it on a new notice.

use qiancheng_api::IntoProto as _;
use qiancheng_api::subsidy::*;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::access;
use crate::claim_view::{masked, notice_of, opened, readable, recalculated, shown};
use crate::store::claim::{self as store, Calculation, ClaimRecord};
use crate::store::objection::ObjectionRecord;

/// The stored code of a channel.
fn channel_code(channel: ObjectionChannel) -> &'static str {
    match channel {
        ObjectionChannel::Online => "ONLINE",
        ObjectionChannel::Phone => "PHONE",
        ObjectionChannel::Letter => "LETTER",
        ObjectionChannel::InPerson => "IN_PERSON",
        ObjectionChannel::Unspecified => "UNSPECIFIED",
    }
}

/// A stored channel on the wire.
fn channel_to_wire(code: &str) -> i32 {
    let wire = match code {
        "ONLINE" => ObjectionChannel::Online,
        "PHONE" => ObjectionChannel::Phone,
        "LETTER" => ObjectionChannel::Letter,
        "IN_PERSON" => ObjectionChannel::InPerson,
        _ => ObjectionChannel::Unspecified,
    };
    wire as i32
}

/// A stored finding on the wire.
fn finding_to_wire(code: &str) -> i32 {
    let wire = match code {
        "UPHELD" => ObjectionFinding::Upheld,
        "DISMISSED" => ObjectionFinding::Dismissed,
        _ => ObjectionFinding::Unspecified,
    };
    wire as i32
}

/// The objection as officers and auditors read it, its contact opened.
fn shown_objection(s: &Subsidy, record: &ObjectionRecord) -> Result<Objection, Error> {
    Ok(Objection {
        name: record.name(),
        claim: format!("claims/{}", record.claim_id),
        channel: channel_to_wire(&record.channel),
        contact: s.pii.decrypt(&record.contact_cipher)?,
        text: record.body.clone(),
        finding: finding_to_wire(&record.finding),
        finding_note: record.finding_note.clone(),
        recorded_by: record.recorded_by.clone(),
        resolved_by: record.resolved_by.clone(),
        create_time_micros: record.stamp.create_time_micros,
        update_time_micros: record.stamp.update_time_micros,
        etag: record.stamp.etag(),
    })
}

/// SUBS-NOTICE: objections are raised while the claim is on notice, up to its last day.
fn open_to_objections(claim: &ClaimRecord, today: chrono::NaiveDate) -> Result<chrono::NaiveDate, Error> {
    match (claim.state.as_str(), claim.notice_ends_on) {
        (store::ON_NOTICE, Some(ends_on)) if today <= ends_on => Ok(ends_on),
        (store::ON_NOTICE, Some(ends_on)) => Err(Error::precondition(
            "SUBS-NOTICE",
            format!("the claim's notice ended on {ends_on}; objections are raised during the notice"),
        )),
        _ => Err(Error::precondition("SUBS-NOTICE", "the claim is not on public notice")),
    }
}

/// The claim an objection names, by its resource name.
async fn claim_named(s: &Subsidy, name: &str, field: &str) -> Result<ClaimRecord, Error> {
    let id = qiancheng_platform::call::id_of(name, "claims", field)?;
    record::find::<ClaimRecord>(s.db.pool(), id).await?.ok_or_else(|| Error::NotFound(name.to_owned()))
}

/// Stores an objection to `claim` inside the write, once the claim is still open to it.
async fn raise(
    s: &Subsidy,
    change: &mut write::Change,
    claim: &ClaimRecord,
    objection: &ObjectionRecord,
) -> Result<chrono::NaiveDate, Error> {
    let current = record::find::<ClaimRecord>(&mut *change.tx, claim.id.as_str())
        .await?
        .ok_or_else(|| Error::NotFound(claim.name()))?;
    let ends_on = open_to_objections(&current, s.today())?;
    record::insert(&mut change.tx, objection).await?;
    change.audit(
        "claim.objection.raise",
        objection.name(),
        serde_json::json!({ "claim": current.name(), "channel": objection.channel,
            "recorded_by": objection.recorded_by }),
    );
    Ok(ends_on)
}

/// ListClaimNotices.
pub async fn list_claim_notices(
    s: &Subsidy,
    call: Call<ListClaimNoticesRequest>,
) -> Result<ListClaimNoticesResponse, Error> {
    let m = &call.message;
    let region = match m.region_code.as_str() {
        "" => None,
        code => Some(code),
    };
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("notices|{}", region.unwrap_or_default()))?;
    let today = s.today().to_string();
    let filter = Filter::new()
        .eq("c.state", store::ON_NOTICE)
        .and("c.notice_ends_on >= ?", [today.into()])
        .eq_given("c.region_code", region);
    let (records, next_page_token) = record::page::<ClaimRecord>(&s.db, filter, &page).await?;
    let claims = records
        .iter()
        .map(|r| ClaimOnNotice {
            claim: r.name(),
            project: r.project(),
            project_title: r.project_title.clone(),
            provider_credit_code: r.provider_credit_code.clone(),
            region_code: r.region.code().to_owned(),
            notice: notice_of(r),
            // The stored calculation holds names masked and ID numbers masked; neither is opened.
            lines: r
                .outcome
                .0
                .as_ref()
                .map(|o| {
                    o.lines
                        .iter()
                        .map(|l| NoticeLine {
                            masked_name: l.trainee_name.clone(),
                            class: format!("classes/{}", l.class_id),
                            amount_fen: l.amount_fen.fen(),
                            stopped_by: l.stopped_by.clone().unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            total_fen: r.total_fen,
        })
        .collect();
    Ok(ListClaimNoticesResponse { claims, next_page_token })
}

/// SubmitObjection.
pub async fn submit_objection(
    s: &Subsidy,
    call: Call<SubmitObjectionRequest>,
) -> Result<SubmitObjectionResponse, Error> {
    let m = &call.message;
    let claim = claim_named(s, &m.claim, "claim").await?;
    let objection = ObjectionRecord {
        id: qiancheng_platform::time::new_id(),
        claim_id: claim.id.clone(),
        region: claim.region,
        channel: channel_code(ObjectionChannel::Online).to_owned(),
        contact_cipher: s.pii.encrypt(m.contact.trim())?,
        body: m.text.trim().to_owned(),
        finding: String::new(),
        finding_note: String::new(),
        recorded_by: call.principal.subject.clone(),
        resolved_by: String::new(),
        stamp: Stamp::new(),
    };
    write::run(s, &call, async |change| {
        let ends_on = raise(s, change, &claim, &objection).await?;
        Ok(SubmitObjectionResponse { name: objection.name(), notice_ends_on: Some(ends_on.into_proto()) })
    })
    .await
}

/// RecordObjection.
pub async fn record_objection(
    s: &Subsidy,
    call: Call<RecordObjectionRequest>,
) -> Result<RecordObjectionResponse, Error> {
    let m = &call.message;
    let channel = ObjectionChannel::try_from(m.channel).unwrap_or(ObjectionChannel::Unspecified);
    if !matches!(channel, ObjectionChannel::Phone | ObjectionChannel::Letter | ObjectionChannel::InPerson) {
        return Err(Error::invalid(
            "channel",
            "OBJECTION_CHANNEL",
            "an officer records objections received by telephone, letter or in person",
        ));
    }
    let claim = claim_named(s, &m.claim, "claim").await?;
    access::decide_claim(&call.principal, claim.region)?;
    let objection = ObjectionRecord {
        id: qiancheng_platform::time::new_id(),
        claim_id: claim.id.clone(),
        region: claim.region,
        channel: channel_code(channel).to_owned(),
        contact_cipher: s.pii.encrypt(m.contact.trim())?,
        body: m.text.trim().to_owned(),
        finding: String::new(),
        finding_note: String::new(),
        recorded_by: call.principal.subject.clone(),
        resolved_by: String::new(),
        stamp: Stamp::new(),
    };
    let shown = shown_objection(s, &objection)?;
    write::run(s, &call, async |change| {
        raise(s, change, &claim, &objection).await?;
        Ok(RecordObjectionResponse { objection: Some(shown.clone()) })
    })
    .await
}

/// ResolveObjection.
pub async fn resolve_objection(
    s: &Subsidy,
    call: Call<ResolveObjectionRequest>,
) -> Result<ResolveObjectionResponse, Error> {
    let m = &call.message;
    let bad_name = || Error::invalid("name", "RESOURCE-NAME", "an objection is named claims/{claim}/objections/{id}");
    let (claim_name, objection_id) = m.name.split_once("/objections/").ok_or_else(bad_name)?;
    let claim = claim_named(s, claim_name, "name").await?;
    access::decide_claim(&call.principal, claim.region)?;
    let objection_id =
        qiancheng_platform::call::id_of(&format!("objections/{objection_id}"), "objections", "name")?.to_owned();
    let finding = match ObjectionFinding::try_from(m.finding).unwrap_or(ObjectionFinding::Unspecified) {
        ObjectionFinding::Upheld => "UPHELD",
        ObjectionFinding::Dismissed => "DISMISSED",
        ObjectionFinding::Unspecified => return Err(Error::invalid("finding", "REQUIRED", "UPHELD or DISMISSED")),
    };
    let snapshot = opened(s, &claim)?;
    // Upheld: the claim is calculated again from its snapshot, without the review's exclusions.
    let fresh = recalculated(&claim, &snapshot, &[])?;
    let officer = call.principal.subject.clone();
    let note = m.finding_note.trim().to_owned();
    write::run(s, &call, async |change| {
        let mut objection = record::find::<ObjectionRecord>(&mut *change.tx, objection_id.as_str())
            .await?
            .filter(|o| o.claim_id == claim.id)
            .ok_or_else(|| Error::NotFound(call.message.name.clone()))?;
        if !call.message.etag.is_empty() {
            objection.stamp.check(&call.message.etag)?;
        }
        if !objection.finding.is_empty() {
            return Err(Error::precondition(
                "OBJECTION_RESOLVED",
                format!("the objection was resolved already ({})", objection.finding.to_lowercase()),
            ));
        }
        objection.finding = finding.to_owned();
        objection.finding_note = note.clone();
        objection.resolved_by = officer.clone();
        objection.stamp.touch();
        record::update(&mut change.tx, &objection).await?;
        change.audit(
            "claim.objection.resolve",
            objection.name(),
            serde_json::json!({ "finding": finding, "note": note }),
        );
        let mut record = record::find::<ClaimRecord>(&mut *change.tx, claim.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(claim.name()))?;
        if finding == "UPHELD" && record.state == store::ON_NOTICE {
            // Back to review: the review and its notice are void; a new review puts it on a new notice.
            let previous_total = record.total_fen;
            record.back_to_review();
            record.exclusions = Vec::new();
            record.total_fen = fresh.outcome.total_fen.fen();
            record.outcome = Calculation(Some(masked(fresh.outcome.clone())));
            record.stamp.touch();
            record::update(&mut change.tx, &record).await?;
            change.audit_under(
                &record.policy_version,
                "claim.review.reopen",
                record.name(),
                serde_json::json!({ "objection": objection.name(), "previous_total_fen": previous_total,
                    "total_fen": record.total_fen }),
            );
        }
        Ok(ResolveObjectionResponse {
            objection: Some(shown_objection(s, &objection)?),
            claim: Some(shown(&record, &snapshot.trainees, true, Audience::of(&call.principal))),
        })
    })
    .await
}

/// ListObjections.
pub async fn list_objections(s: &Subsidy, call: Call<ListObjectionsRequest>) -> Result<ListObjectionsResponse, Error> {
    let m = &call.message;
    let claim = readable(s, &call.principal, &m.claim).await?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("objections|{}", claim.id))?;
    let filter = Filter::new().eq("o.claim_id", claim.id.as_str());
    let (records, next_page_token) = record::page::<ObjectionRecord>(&s.db, filter, &page).await?;
    let objections = records.iter().map(|r| shown_objection(s, r)).collect::<Result<Vec<_>, Error>>()?;
    Ok(ListObjectionsResponse { objections, next_page_token })
}
