//! What supervision asks and tells the selection service (二(三), 八(四)), always with the
//! service's own `SERVICE` token, never inside a database transaction:
//!
//! - at filing (CLASS-FILING): `GetProject` (the approved project: provider, training county,
//!   occupation, level, approved headcount, catalog item), `GetCatalogItem` (its hours and mode,
//!   CLASS-HOURS) and `CheckStanding` (PROV-DISQUALIFIED, PROJ-SELECTION). What it said is
//!   stored with the class, with the time;
//! - after a serious subcontracting or fraud finding (CLASS-INSPECTION): `DisqualifyProvider`,
//!   with a request id made from the inspection so that retries never disqualify twice.
//!
//! A refusal by selection keeps its code (a project that does not exist stays `NOT_FOUND`); a
//! selection that cannot be reached is `UNAVAILABLE`.

use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{
    CatalogItem, CheckStandingRequest, CheckStandingResponse, DisqualifyProviderRequest, GetCatalogItemRequest,
    GetProjectRequest, MisconductKind, Project, RecordViolationRequest,
};
use qiancheng_domain::policy::project::FindingKind;
use qiancheng_platform::{Error, Shared};
use tonic_types::StatusExt as _;

/// The peer's short name.
const SELECTION: &str = "selection";

/// What selection said at filing, and when.
#[derive(Debug, Clone)]
pub struct Told {
    /// The approved project.
    pub project: Project,
    /// The catalog item it trains for.
    pub item: CatalogItem,
    /// The provider's and project's standing.
    pub standing: CheckStandingResponse,
    /// When selection was asked, microseconds since the epoch.
    pub told_micros: i64,
}

/// Asks selection about `project` (a `projects/{id}` name) of the provider `provider`: the
/// project must be the provider's own.
pub async fn ask_about_project(s: &Shared, project: &str, provider: &str) -> Result<Told, Error> {
    let peer = s.peers.get(SELECTION)?;
    let told_micros = qiancheng_platform::time::now_micros();
    let mut client = SelectionServiceClient::new(peer.channel());
    let project = client
        .get_project(GetProjectRequest { name: project.to_owned() })
        .await
        .map_err(|status| peer.refused(status))?
        .into_inner()
        .project
        .ok_or_else(|| Error::corrupt("selection answered GetProject without a project"))?;
    if project.provider_credit_code != provider {
        return Err(Error::denied("the project belongs to another provider"));
    }
    let item = client
        .get_catalog_item(GetCatalogItemRequest { name: project.catalog_item.clone() })
        .await
        .map_err(|status| peer.refused(status))?
        .into_inner()
        .catalog_item
        .ok_or_else(|| Error::corrupt("selection answered GetCatalogItem without an item"))?;
    let standing = client
        .check_standing(CheckStandingRequest {
            provider: format!("providers/{provider}"),
            project: project.name.clone(),
        })
        .await
        .map_err(|status| peer.refused(status))?
        .into_inner();
    Ok(Told { project, item, standing, told_micros })
}

/// How a referral ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referred {
    /// Selection disqualified the provider, or had already.
    Accepted(String),
    /// Selection refused it, with its code and message.
    Refused(String),
    /// Selection could not be reached.
    Unreachable(String),
}

/// Refers the provider `provider` to selection for PROV-DISQUALIFIED after a serious `finding`
/// on `found_on`, under the idempotency key `request_id`.
pub async fn refer_provider(
    s: &Shared,
    provider: &str,
    finding: FindingKind,
    note: &str,
    found_on: chrono::NaiveDate,
    request_id: &str,
) -> Referred {
    let peer = match s.peers.get(SELECTION) {
        Ok(peer) => peer,
        Err(error) => return Referred::Unreachable(error.to_string()),
    };
    let misconduct = match finding {
        FindingKind::Subcontracting => MisconductKind::Subcontracting,
        _ => MisconductKind::Fraud,
    };
    let request = DisqualifyProviderRequest {
        provider: format!("providers/{provider}"),
        misconduct: misconduct as i32,
        // The inspection's day goes with the finding; selection records the referral on the day
        // it is told (its own calendar), so that the two services' clocks never disagree on it.
        finding: format!("{found_on} 检查: {note}"),
        found_on: None,
        request_id: request_id.to_owned(),
    };
    referred(SelectionServiceClient::new(peer.channel()).disqualify_provider(request).await.map(drop))
}

/// How a referral's answer ends it: selection's refusal with its code and reason (at most 300
/// characters of its message), or no answer at all.
fn referred(answer: Result<(), tonic::Status>) -> Referred {
    let Err(status) = answer else {
        return Referred::Accepted(String::new());
    };
    let reason = status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default();
    let message: String = status.message().chars().take(300).collect();
    match status.code() {
        // Disqualified by an earlier referral or by an officer: what was asked holds.
        tonic::Code::FailedPrecondition if reason == "ALREADY_DISQUALIFIED" => {
            Referred::Accepted(format!("already disqualified: {message}"))
        }
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            Referred::Unreachable(format!("{:?}: {message}", status.code()))
        }
        code => Referred::Refused(format!("{code:?} {reason}: {message}")),
    }
}

/// What selection says of a provider's standing now (PROV-DISQUALIFIED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Not disqualified.
    Good,
    /// Disqualified, with selection's reason.
    Disqualified(String),
}

/// Asks selection whether the provider `provider` may go on (`CheckStanding`, no project).
pub async fn provider_standing(s: &Shared, provider: &str) -> Result<Standing, Error> {
    let peer = s.peers.get(SELECTION)?;
    let answer = SelectionServiceClient::new(peer.channel())
        .check_standing(CheckStandingRequest { provider: format!("providers/{provider}"), project: String::new() })
        .await
        .map_err(|status| peer.refused(status))?
        .into_inner();
    if answer.good_standing {
        return Ok(Standing::Good);
    }
    let why = answer
        .decision
        .iter()
        .flat_map(|d| d.rules.iter())
        .find(|r| !r.passed)
        .map(|r| r.reason_zh.clone())
        .unwrap_or_default();
    Ok(Standing::Disqualified(why))
}

/// Records a serious finding that does not disqualify (虚报人数 found at a spot check, a safety
/// failure) as a violation of the provider `provider` in selection (`RecordViolation`), which
/// PROV-CLEAN reads, under the idempotency key `request_id`. The violation is dated the day
/// selection is told when the inspection's day is later on selection's calendar, as a referral
/// is; the finding keeps the inspection's day.
pub async fn record_violation(
    s: &Shared,
    provider: &str,
    note: &str,
    found_on: chrono::NaiveDate,
    request_id: &str,
) -> Referred {
    let peer = match s.peers.get(SELECTION) {
        Ok(peer) => peer,
        Err(error) => return Referred::Unreachable(error.to_string()),
    };
    let occurred_on = found_on.min(qiancheng_domain::today_in_china());
    let request = RecordViolationRequest {
        provider: format!("providers/{provider}"),
        occurred_on: Some(qiancheng_api::convert::date_to_proto(occurred_on)),
        description: format!("{found_on} 检查: {note}").chars().take(1000).collect(),
        request_id: request_id.to_owned(),
    };
    referred(SelectionServiceClient::new(peer.channel()).record_violation(request).await.map(drop))
}
