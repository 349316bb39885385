//! The training-project catalog (培训项目目录, 二(二), PROJ-CATALOG): what is to be trained, for
//! which demand. Items are drafted by hand or from the demand service's training-need summary
//! ("用什么、学什么"), published, revised as new versions (never edited in place once
//! published), and withdrawn. An item may record the basis in-service projects on it need: its
//! key industry and the reference naming the occupation urgently needed (PROJ-INSERVICE).

use qiancheng_api::convert::Shown as _;
use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::{SummarizeTrainingNeedsRequest, TrainingNeed};
use qiancheng_api::selection::*;
use qiancheng_api::{FromProto as _, convert};
use qiancheng_domain::lifecycle::{CatalogItemState, Lifecycle as _};
use qiancheng_domain::policy::project::TrainingMode;
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::new_id;
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};

use crate::access::{self, Scope};
use crate::store::catalog::CatalogItemRecord;
use crate::store::turn;

impl From<&CatalogItemRecord> for CatalogItem {
    /// The item as the API shows it.
    fn from(record: &CatalogItemRecord) -> Self {
        CatalogItem { name: record.name(), lineage: format!("catalogItems/{}", record.lineage), ..record.shown() }
    }
}

/// Writes the content an officer states in `item` (its declared rules checked) onto `record`;
/// demand references and the in-service basis left empty keep the record's (a revision keeps
/// the published version's).
fn write_content(item: &CatalogItem, record: &mut CatalogItemRecord) {
    record.headcount = i64::from(item.headcount);
    record.skill_requirements = item.skill_requirements.trim().to_owned();
    record.content = item.content.trim().to_owned();
    record.hours = i64::from(item.hours);
    // The proto's rule refused a number that is no mode.
    record.mode = TrainingMode::from_proto(item.mode).ok().flatten();
    let answers: Vec<String> = item.answers.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
    if !answers.is_empty() {
        record.answers = answers;
    }
    // PROJ-INSERVICE: the reference naming the occupation urgently needed, if any.
    let reference = item.urgent_occupation_reference.trim();
    if !reference.is_empty() {
        record.urgent_occupation_reference = reference.to_owned();
    }
}

/// What identifies the demand an item answers: its region, industry, occupation and level.
struct Subject {
    region: RegionCode,
    industry: Industry,
    occupation_code: String,
    occupation_name: String,
    level: SkillLevel,
}

impl Subject {
    /// The first version of a draft item on this subject, made by `actor`, its content empty.
    fn draft(self, actor: &str) -> CatalogItemRecord {
        let id = new_id();
        CatalogItemRecord {
            lineage: id.clone(),
            id,
            version: 1,
            region: self.region,
            industry: self.industry,
            occupation_code: self.occupation_code,
            occupation_name: self.occupation_name,
            level: self.level,
            headcount: 0,
            skill_requirements: String::new(),
            content: String::new(),
            hours: 0,
            mode: None,
            answers: Vec::new(),
            state: CatalogItemState::Draft,
            urgent_occupation_reference: String::new(),
            created_by: actor.to_owned(),
            stamp: Stamp::new(),
        }
    }
}

/// Stores a new item (or version) and notes the audit entry of `action`.
async fn insert(change: &mut Change, record: &CatalogItemRecord, action: &str) -> Result<(), Error> {
    record::insert(&mut change.tx, record).await?;
    audit(change, record, action, "");
    Ok(())
}

/// Notes the audit entry of `action` on `record`, for `reason`.
fn audit(change: &mut Change, record: &CatalogItemRecord, action: &str, reason: &str) {
    let detail = serde_json::json!({ "version": record.version, "state": record.state.code(), "reason": reason,
        "occupation": record.occupation_code, "level": record.level.code(), "headcount": record.headcount,
        "urgent_occupation_reference": record.urgent_occupation_reference });
    change.audit(action, record.name(), detail);
}

/// CreateCatalogItem: a draft by hand, stating every field (PROJ-CATALOG).
pub async fn create_catalog_item(
    s: &Shared,
    call: Call<CreateCatalogItemRequest>,
) -> Result<CreateCatalogItemResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let item = call.message.catalog_item.clone().unwrap_or_default();
    // What a draft is about; a revision keeps it, so these rules are the draft's alone.
    let mut v = Violations::default();
    let region = v.value("catalog_item.region_code", RegionCode::parse(&item.region_code));
    let industry = v.value("catalog_item.industry", Industry::required(item.industry));
    let occupation = v.value("catalog_item.occupation_code", OccupationCode::parse(&item.occupation_code));
    let occupation_name = v.value("catalog_item.occupation_name", convert::text(&item.occupation_name, 100));
    let level = v.value("catalog_item.skill_level", SkillLevel::required(item.skill_level));
    v.finish()?;
    let (Some(region), Some(industry), Some(occupation), Some(occupation_name), Some(level)) =
        (region, industry, occupation, occupation_name, level)
    else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    access::check_officer_region(&call.principal, &scope, region)?;
    let subject = Subject { region, industry, occupation_code: occupation.as_str().to_owned(), occupation_name, level };
    let mut record = subject.draft(&call.principal.subject);
    write_content(&item, &mut record);
    // PROJ-CATALOG: a draft states everything a published item must, so review is all that
    // stands between it and the catalog (a published item is never edited, only revised).
    let complete = record.publishable();
    if !complete.passed {
        return Err(Error::invalid("catalog_item", "PROJ-CATALOG", complete.reason_en));
    }
    write::run(s, &call, async |change| {
        insert(change, &record, "catalog_item.create").await?;
        Ok(CreateCatalogItemResponse { catalog_item: Some(CatalogItem::from(&record)) })
    })
    .await
}

/// The rows with people to train of the demand service's training-need summary of `region`
/// (every county when `None`), each with the demand it states, and the summary's date.
async fn training_needs(s: &Shared, region: Option<RegionCode>) -> Result<(Vec<(TrainingNeed, Subject)>, i64), Error> {
    let peer = s.peers.get("demand")?;
    let request = SummarizeTrainingNeedsRequest {
        region_code: region.map(|r| r.code().to_owned()).unwrap_or_default(),
        industry: 0,
    };
    let summary = DemandServiceClient::new(peer.channel())
        .summarize_training_needs(request)
        .await
        .map_err(|status| peer.refused(status))?
        .into_inner();
    let needs = summary
        .needs
        .into_iter()
        .filter(|n| n.gap > 0)
        .map(|need| subject_of(&need).map(|subject| (need, subject)))
        .collect::<Option<Vec<_>>>()
        // A row that does not parse is the demand service's fault.
        .ok_or_else(|| peer.refused(tonic::Status::internal("a training-need summary row did not parse")))?;
    Ok((needs, summary.as_of_micros))
}

/// The demand of one summary row, as the subject of a draft; `None` if it does not parse.
fn subject_of(need: &TrainingNeed) -> Option<Subject> {
    OccupationCode::parse(&need.occupation_code).ok()?;
    Some(Subject {
        region: RegionCode::parse(&need.region_code).ok()?,
        industry: Industry::required(need.industry).ok()?,
        occupation_code: need.occupation_code.clone(),
        occupation_name: need.occupation_name.clone(),
        level: SkillLevel::required(need.skill_level).ok()?,
    })
}

/// DraftCatalogFromDemand: asks the demand service for its training-need summary and drafts one
/// item per row with people to train ("用什么、学什么"), skipping rows the catalog already answers.
pub async fn draft_catalog_from_demand(
    s: &Shared,
    call: Call<DraftCatalogFromDemandRequest>,
) -> Result<DraftCatalogFromDemandResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let region = convert::region_filter(&m.region_code).map_err(|e| Error::invalid_value("region_code", e))?;
    // Officers draft for their county; only the city drafts for every county at once.
    let region = match (&scope, region) {
        (Scope::Region(own), None) => Some(*own),
        (_, region) => region,
    };
    if let Some(region) = region {
        scope.check(region, "")?;
    }
    // A retry is answered without asking the demand service again.
    if let Some(response) = write::served(s, &call).await? {
        return Ok(response);
    }
    // The summary is read before the write transaction opens: no lock is held across a call.
    let (needs, as_of_micros) = training_needs(s, region).await?;
    write::run(s, &call, async |change| {
        // PROJ-CATALOG: drafts skip what the catalog answers; two drafting at once take turns.
        change.serialize_on(turn::DEMAND_DRAFTS).await?;
        let mut drafts = Vec::new();
        for (need, subject) in needs {
            let answering = Filter::new()
                .eq("c.region_code", subject.region.code())
                .eq("c.industry", subject.industry.code())
                .eq("c.occupation_code", subject.occupation_code.as_str())
                .eq("c.skill_level", subject.level.code())
                .among("c.state", [CatalogItemState::Draft.code(), CatalogItemState::Published.code()]);
            if record::count::<CatalogItemRecord>(&mut *change.tx, answering).await? > 0 {
                continue;
            }
            let level = subject.level.name_zh();
            let mut record = subject.draft(change.actor());
            record.headcount = i64::from(need.gap);
            record.skill_requirements = format!("达到{}{level}职业技能标准", need.occupation_name);
            record.content = m.content.trim().to_owned();
            record.hours = i64::from(m.hours);
            // The proto's rule required a mode.
            record.mode = TrainingMode::from_proto(m.mode).ok().flatten();
            record.answers = vec![format!(
                "岗位需求汇总({}): 需求{}人, 已具备{}人, 缺口{}人, 有培训意愿{}人",
                as_of_micros, need.headcount_wanted, need.workers_qualified, need.gap, need.workers_willing
            )];
            insert(change, &record, "catalog_item.draft_from_demand").await?;
            drafts.push(CatalogItem::from(&record));
        }
        Ok(DraftCatalogFromDemandResponse { catalog_items: drafts, demand_as_of_micros: as_of_micros })
    })
    .await
}

/// GetCatalogItem: a published item for every caller, others for the officers of its county.
pub async fn get_catalog_item(s: &Shared, call: Call<GetCatalogItemRequest>) -> Result<GetCatalogItemResponse, Error> {
    let name = &call.message.name;
    let id = id_of(name, "catalogItems", "name")?;
    let found = record::find::<CatalogItemRecord>(s.db.pool(), id).await?;
    let record = found.ok_or_else(|| Error::NotFound(name.clone()))?;
    let service = call.principal.has(Role::Service);
    if record.state != CatalogItemState::Published
        && !service
        && !access::reads_internal(&call.principal, record.region)
    {
        return Err(Error::denied("unpublished catalog items are for the officers of their county"));
    }
    Ok(GetCatalogItemResponse { catalog_item: Some(CatalogItem::from(&record)) })
}

/// ListCatalogItems: the public catalog (published items) for every caller; items in other
/// states within an officer's reach.
pub async fn list_catalog_items(
    s: &Shared,
    call: Call<ListCatalogItemsRequest>,
) -> Result<ListCatalogItemsResponse, Error> {
    let m = &call.message;
    // The proto's rules checked the region (empty: every region) and the state (none: published).
    let region = RegionCode::parse(&m.region_code).ok().map(|r| r.code());
    let wanted = CatalogItemState::from_proto(m.state).ok().flatten().unwrap_or(CatalogItemState::Published);
    let scope =
        if wanted == CatalogItemState::Published { Scope::All } else { access::officer_read_scope(&call.principal)? };
    let query = format!("catalog|{}|{}", wanted.code(), region.unwrap_or_default());
    let page = PageRequest::parse(m.page_size, &m.page_token, &query)?;
    let filter = Filter::new().eq("c.state", wanted.code()).eq_given("c.region_code", region);
    let filter = filter.within(&scope, "c.region_code", None);
    let (records, next_page_token) = record::page::<CatalogItemRecord>(&s.db, filter, &page).await?;
    Ok(ListCatalogItemsResponse { catalog_items: records.iter().map(CatalogItem::from).collect(), next_page_token })
}

/// Loads an item the officer acts for inside `change`, checking its etag.
async fn load_for_change(
    change: &mut Change,
    principal: &Principal,
    name: &str,
    etag: &str,
) -> Result<CatalogItemRecord, Error> {
    let scope = access::officer_scope(principal)?;
    let id = id_of(name, "catalogItems", "name")?;
    let record = record::find::<CatalogItemRecord>(&mut *change.tx, id).await?.ok_or_else(|| scope.missing(name))?;
    access::check_officer_region(principal, &scope, record.region)?;
    record.stamp.check(etag)?;
    Ok(record)
}

/// Moves an item to `to` inside `change` and notes the audit entry of `action` for `reason`.
async fn transition(
    change: &mut Change,
    mut record: CatalogItemRecord,
    to: CatalogItemState,
    (action, reason): (&str, &str),
) -> Result<CatalogItem, Error> {
    record.state = record.state.to(to)?;
    record.stamp.touch();
    record::update(&mut change.tx, &record).await?;
    audit(change, &record, action, reason);
    Ok(CatalogItem::from(&record))
}

/// PublishCatalogItem: a complete draft (PROJ-CATALOG) enters the catalog, superseding the
/// version it revises.
pub async fn publish_catalog_item(
    s: &Shared,
    call: Call<PublishCatalogItemRequest>,
) -> Result<PublishCatalogItemResponse, Error> {
    let m = &call.message;
    write::run(s, &call, async |change| {
        let record = load_for_change(change, &call.principal, &m.name, &m.etag).await?;
        record.state.to(CatalogItemState::Published)?;
        Error::unless_passed(record.publishable())?;
        // PROJ-CATALOG: a published item is never edited; its new version replaces it.
        let published =
            Filter::new().eq("c.lineage", record.lineage.as_str()).eq("c.state", CatalogItemState::Published.code());
        let mut superseded = 0;
        if let Some(mut old) = record::first::<CatalogItemRecord>(&mut *change.tx, published).await? {
            old.state = old.state.to(CatalogItemState::Superseded)?;
            old.stamp.touch();
            record::update(&mut change.tx, &old).await?;
            superseded = 1;
        }
        let reason = format!("superseded {superseded}");
        let item = transition(change, record, CatalogItemState::Published, ("catalog_item.publish", &reason)).await?;
        Ok(PublishCatalogItemResponse { catalog_item: Some(item) })
    })
    .await
}

/// ReviseCatalogItem: drafts the next version of a published item; the published one stays
/// until the new one is published.
pub async fn revise_catalog_item(
    s: &Shared,
    call: Call<ReviseCatalogItemRequest>,
) -> Result<ReviseCatalogItemResponse, Error> {
    let input = call.message.catalog_item.clone().unwrap_or_default();
    write::run(s, &call, async |change| {
        let published = load_for_change(change, &call.principal, &input.name, "").await?;
        published.state.require(&[CatalogItemState::Published], "be revised; edit a draft by creating it again")?;
        let of_lineage = Filter::new().eq("c.lineage", published.lineage.as_str());
        let drafts = of_lineage.clone().eq("c.state", CatalogItemState::Draft.code());
        if record::count::<CatalogItemRecord>(&mut *change.tx, drafts).await? > 0 {
            return Err(Error::precondition("REVISION_PENDING", "a draft revision of this item already exists"));
        }
        // Versions are numbered 1, 2, … and none is ever removed: the next is one more than their count.
        let versions = record::count::<CatalogItemRecord>(&mut *change.tx, of_lineage).await?;
        let mut record = CatalogItemRecord {
            id: new_id(),
            version: versions + 1,
            state: CatalogItemState::Draft,
            created_by: change.actor().to_owned(),
            stamp: Stamp::new(),
            ..published
        };
        write_content(&input, &mut record);
        insert(change, &record, "catalog_item.revise").await?;
        Ok(ReviseCatalogItemResponse { catalog_item: Some(CatalogItem::from(&record)) })
    })
    .await
}

/// WithdrawCatalogItem: a draft or published item leaves the catalog, with the reason.
pub async fn withdraw_catalog_item(
    s: &Shared,
    call: Call<WithdrawCatalogItemRequest>,
) -> Result<WithdrawCatalogItemResponse, Error> {
    let m = &call.message;
    let reason = m.reason.trim();
    write::run(s, &call, async |change| {
        let record = load_for_change(change, &call.principal, &m.name, "").await?;
        let item = transition(change, record, CatalogItemState::Withdrawn, ("catalog_item.withdraw", reason)).await?;
        Ok(WithdrawCatalogItemResponse { catalog_item: Some(item) })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_row_that_does_not_parse_has_no_subject() {
        let need = TrainingNeed {
            region_code: "421221".into(),
            industry: qiancheng_api::types::Industry::EquipmentManufacturing as i32,
            occupation_code: "6-18-02-04".into(),
            occupation_name: "焊工".into(),
            skill_level: qiancheng_api::types::SkillLevel::SkillLevel4 as i32,
            ..Default::default()
        };
        assert!(subject_of(&need).is_some());
        assert!(subject_of(&TrainingNeed { region_code: "x".into(), ..need.clone() }).is_none());
        assert!(subject_of(&TrainingNeed { skill_level: 0, ..need }).is_none());
    }
}
