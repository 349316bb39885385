//! What the subsidy service reads from its peers, behind small traits (ports) so that a claim's
//! facts are gathered the same way whoever answers: over gRPC with the service's own `SERVICE`
//! token in production, by a test's own answers where a peer is not yet part of the suite.
//! Peers are never called inside a database transaction. A peer's refusal keeps its code (a
//! project that does not exist stays `NOT_FOUND`); a peer that cannot be reached is
//! `UNAVAILABLE`.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use qiancheng_api::FromProto as _;
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::{
    Basis as WireBasis, GetAcceptanceRequest, ListPrehireContractsRequest, ListRateChangesRequest, ListVerdictsRequest,
    Route as WireRoute, Verdict as OutcomeVerdict,
};
use qiancheng_api::selection::GetProjectRequest;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::{ListProjectTraineesRequest, ProjectTrainee};
use qiancheng_domain::policy::decision::{Decision, RuleResult};
use qiancheng_domain::policy::facts::OutcomeEvidence;
use qiancheng_domain::policy::outcome::{Basis, Route, Verdict};
use qiancheng_domain::{OccupationCode, RegionCode, SkillLevel};
use qiancheng_platform::Error;
use qiancheng_platform::service::Peers;

/// What a port answers, later.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A project as the subsidy service needs it from selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectView {
    /// `projects/{id}`.
    pub name: String,
    /// The project's title (项目名称) as selection keeps it; empty for a project approved before
    /// selection kept titles.
    pub title: String,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// The county (or the city) that selected it: where its classes are filed and its claims
    /// decided (SUBS-SOD).
    pub region: RegionCode,
    /// The county the project trains in (its classes' county).
    pub training_region: RegionCode,
    /// The occupation trained.
    pub occupation: OccupationCode,
    /// The level trained.
    pub level: SkillLevel,
}

/// What the subsidy service asks the selection service.
pub trait SelectionPort: Debug + Send + Sync {
    /// The project `name` (`projects/{id}`).
    fn project<'a>(&'a self, name: &'a str) -> Answer<'a, ProjectView>;
}

/// The selection service over gRPC.
#[derive(Debug, Clone)]
pub struct SelectionGrpc(pub Peers);

/// The peer's short name.
pub const SELECTION: &str = "selection";

impl SelectionPort for SelectionGrpc {
    fn project<'a>(&'a self, name: &'a str) -> Answer<'a, ProjectView> {
        Box::pin(async move {
            let peer = self.0.get(SELECTION)?;
            let project = SelectionServiceClient::new(peer.channel())
                .get_project(GetProjectRequest { name: name.to_owned() })
                .await
                .map_err(|status| peer.refused(status))?
                .into_inner()
                .project
                .ok_or_else(|| Error::corrupt("selection answered GetProject without a project"))?;
            let told = |what: &str| Error::corrupt(format!("selection's project has no valid {what}"));
            Ok(ProjectView {
                name: project.name.clone(),
                title: project.title.trim().to_owned(),
                provider_credit_code: project.provider_credit_code.clone(),
                region: RegionCode::parse(&project.region_code).map_err(|_| told("county"))?,
                training_region: RegionCode::parse(&project.training_region_code)
                    .or_else(|_| RegionCode::parse(&project.region_code))
                    .map_err(|_| told("training county"))?,
                occupation: OccupationCode::parse(&project.occupation_code).map_err(|_| told("occupation"))?,
                level: SkillLevel::required(project.skill_level).map_err(|_| told("skill level"))?,
            })
        })
    }
}

/// What the subsidy service asks the supervision service.
pub trait SupervisionPort: Debug + Send + Sync {
    /// Every trainee ever on the real-name roster of any class of `project`, with the class,
    /// results and the policy set the class was filed under (supervision's `ProjectTrainee`).
    fn project_trainees<'a>(&'a self, project: &'a str) -> Answer<'a, Vec<ProjectTrainee>>;
}

/// The peer's short name.
pub const SUPERVISION: &str = "supervision";

/// The supervision service over gRPC.
#[derive(Debug, Clone)]
pub struct SupervisionGrpc(pub Peers);

/// The most trainees one claim reads (a project of 100 classes of 100).
const MAX_CLAIM_TRAINEES: usize = 10_000;

impl SupervisionPort for SupervisionGrpc {
    fn project_trainees<'a>(&'a self, project: &'a str) -> Answer<'a, Vec<ProjectTrainee>> {
        Box::pin(async move {
            let peer = self.0.get(SUPERVISION)?;
            let mut client = SupervisionServiceClient::new(peer.channel());
            let mut trainees = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_project_trainees(ListProjectTraineesRequest {
                        project: project.to_owned(),
                        page_size: 500,
                        page_token: page_token.clone(),
                    })
                    .await
                    .map_err(|status| peer.refused(status))?
                    .into_inner();
                trainees.extend(page.trainees);
                if trainees.len() > MAX_CLAIM_TRAINEES {
                    return Err(Error::ResourceExhausted {
                        reason: "CLAIM_TOO_LARGE".into(),
                        message: format!("a claim reads at most {MAX_CLAIM_TRAINEES} trainees"),
                    });
                }
                if page.next_page_token.is_empty() {
                    return Ok(trainees);
                }
                page_token = page.next_page_token;
            }
        })
    }
}

/// What the outcome service holds about a project that a claim needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeFacts {
    /// The day its 综合评估和验收 was recorded; a claim is reviewed only after it.
    pub accepted_on: Option<NaiveDate>,
    /// Each trainee's outcome evidence (employment, business, service), by the trainee's name in
    /// supervision (`classes/{class}/trainees/{trainee}`); certificates come from supervision.
    pub evidence: BTreeMap<String, OutcomeEvidence>,
    /// Each trainee's verdict as outcome decided it (OUT-*), by the trainee's name in supervision;
    /// a claim counts it as it stands.
    pub verdicts: BTreeMap<String, Decision<Verdict>>,
    /// The evidence items each verdict rested on (`evidence/{id}` in outcome), by the trainee's
    /// name in supervision: kept with the claim's snapshot, so a fen paid traces to them.
    pub verdict_evidence: BTreeMap<String, Vec<String>>,
    /// The day each pre-hire trainee signed the key-project enterprise's contract, by the
    /// trainee's name in outcome (`trainees/{trainee}`, supervision's id of the roster entry).
    pub prehire_signed_on: BTreeMap<String, NaiveDate>,
}

/// The projects whose rates changed after a position of outcome's rate change feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateChanges {
    /// The projects, `projects/{id}`, each once.
    pub projects: Vec<String>,
    /// The position to read after next time.
    pub next_after: i64,
    /// More changes were already there: read again at once.
    pub more: bool,
}

/// What the subsidy service asks the outcome service.
pub trait OutcomePort: Debug + Send + Sync {
    /// The project's acceptance, its trainees' verdicts (or, where a test answers, their
    /// evidence) and its pre-hire contracts.
    fn project_outcome<'a>(&'a self, project: &'a str) -> Answer<'a, OutcomeFacts>;
    /// The projects whose rates changed after `after` (`ListRateChanges`).
    fn rate_changes(&self, after: i64) -> Answer<'_, RateChanges>;
}

/// The peer's short name.
pub const OUTCOME: &str = "outcome";

/// The outcome service over gRPC.
#[derive(Debug, Clone)]
pub struct OutcomeGrpc(pub Peers);

/// Supervision's name of the trainee outcome names `trainees/{trainee}` on `classes/{class}`:
/// outcome keeps supervision's id of the roster entry.
pub fn supervision_trainee(class: &str, trainee: &str) -> Option<String> {
    let class_id = class.strip_prefix("classes/").filter(|c| !c.is_empty() && !c.contains('/'))?;
    let trainee_id = trainee.strip_prefix("trainees/").filter(|t| !t.is_empty() && !t.contains('/'))?;
    Some(format!("classes/{class_id}/trainees/{trainee_id}"))
}

/// Outcome's verdict as the policy core's decision; `None` when outcome has not judged by a
/// basis (nobody to count).
fn verdict_decision(v: &OutcomeVerdict) -> Option<Decision<Verdict>> {
    let basis = match WireBasis::try_from(v.basis).ok()? {
        WireBasis::Employment => Basis::Employment,
        WireBasis::Certificate => Basis::Certificate,
        WireBasis::Unspecified => return None,
    };
    let route = match WireRoute::try_from(v.route).unwrap_or(WireRoute::Unspecified) {
        WireRoute::Contract => Some(Route::Contract),
        WireRoute::Business => Some(Route::Business),
        WireRoute::Service => Some(Route::Service),
        WireRoute::Registration => Some(Route::Registration),
        WireRoute::Certificate => Some(Route::Certificate),
        WireRoute::Unspecified => None,
    };
    let rules = v
        .decision
        .as_ref()
        .map(|d| d.rules.iter().map(|r| RuleResult::carried(&r.code, r.passed, &r.reason_zh, &r.reason_en)).collect())
        .unwrap_or_default();
    Some(Decision {
        outcome: Verdict { positive: v.positive, basis, route },
        policy_version: v.policy_version.clone(),
        rules,
    })
}

impl OutcomePort for OutcomeGrpc {
    fn rate_changes(&self, after: i64) -> Answer<'_, RateChanges> {
        Box::pin(async move {
            let peer = self.0.get(OUTCOME)?;
            let read = OutcomeServiceClient::new(peer.channel())
                .list_rate_changes(ListRateChangesRequest { after, page_size: 1000, project: String::new() })
                .await
                .map_err(|status| peer.refused(status))?
                .into_inner();
            let mut projects: Vec<String> = read.changes.into_iter().map(|c| c.project).collect();
            projects.sort();
            projects.dedup();
            Ok(RateChanges { projects, next_after: read.next_after, more: read.more })
        })
    }

    fn project_outcome<'a>(&'a self, project: &'a str) -> Answer<'a, OutcomeFacts> {
        Box::pin(async move {
            let peer = self.0.get(OUTCOME)?;
            let mut client = OutcomeServiceClient::new(peer.channel());
            let project_id = project.strip_prefix("projects/").unwrap_or(project);
            let mut facts = OutcomeFacts::default();
            match client.get_acceptance(GetAcceptanceRequest { name: format!("acceptances/{project_id}") }).await {
                Ok(answer) => {
                    facts.accepted_on = answer
                        .into_inner()
                        .acceptance
                        .filter(|a| a.accepted)
                        .and_then(|a| NaiveDate::from_proto(a.decided_on.as_ref()).ok().flatten());
                }
                Err(status) if status.code() == tonic::Code::NotFound => {}
                Err(status) => return Err(peer.refused(status)),
            }
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_verdicts(ListVerdictsRequest {
                        page_size: 500,
                        page_token: page_token.clone(),
                        project: project.to_owned(),
                        class: String::new(),
                    })
                    .await
                    .map_err(|status| peer.refused(status))?
                    .into_inner();
                for v in &page.verdicts {
                    let name = supervision_trainee(&v.class, &v.trainee)
                        .ok_or_else(|| Error::corrupt("outcome answered a verdict without its class or trainee"))?;
                    if let Some(decision) = verdict_decision(v) {
                        if !v.evidence.is_empty() {
                            facts.verdict_evidence.insert(name.clone(), v.evidence.clone());
                        }
                        facts.verdicts.insert(name, decision);
                    }
                }
                if facts.verdicts.len() > MAX_CLAIM_TRAINEES {
                    return Err(Error::ResourceExhausted {
                        reason: "CLAIM_TOO_LARGE".into(),
                        message: format!("a claim reads at most {MAX_CLAIM_TRAINEES} trainees"),
                    });
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_prehire_contracts(ListPrehireContractsRequest {
                        page_size: 500,
                        page_token: page_token.clone(),
                        project: project.to_owned(),
                    })
                    .await
                    .map_err(|status| peer.refused(status))?
                    .into_inner();
                for c in &page.contracts {
                    if let Ok(Some(signed_on)) = NaiveDate::from_proto(c.signed_on.as_ref()) {
                        let earliest = facts.prehire_signed_on.entry(c.trainee.clone()).or_insert(signed_on);
                        *earliest = (*earliest).min(signed_on);
                    }
                }
                if facts.prehire_signed_on.len() > MAX_CLAIM_TRAINEES {
                    return Err(Error::ResourceExhausted {
                        reason: "CLAIM_TOO_LARGE".into(),
                        message: format!("a claim reads at most {MAX_CLAIM_TRAINEES} trainees"),
                    });
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            Ok(facts)
        })
    }
}

/// Outcomes a test or a benchmark records by project, answering as the outcome service would,
/// with the rate changes it announces (the feed's position is the count of changes read).
#[derive(Debug, Clone, Default)]
pub struct RecordedOutcomes(Arc<Mutex<BTreeMap<String, OutcomeFacts>>>, Arc<Mutex<Vec<String>>>);

impl RecordedOutcomes {
    /// Records what outcome holds about `project` (`projects/{id}`), replacing what it held.
    pub fn record(&self, project: &str, facts: OutcomeFacts) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(project.to_owned(), facts);
        }
    }

    /// Announces a change of `project`'s rate on the feed.
    pub fn announce_rate_change(&self, project: &str) {
        if let Ok(mut changes) = self.1.lock() {
            changes.push(project.to_owned());
        }
    }
}

impl OutcomePort for RecordedOutcomes {
    fn rate_changes(&self, after: i64) -> Answer<'_, RateChanges> {
        let changes = self.1.lock().map(|c| c.clone()).unwrap_or_default();
        Box::pin(async move {
            let from = usize::try_from(after).unwrap_or(0).min(changes.len());
            let mut projects = changes[from..].to_vec();
            projects.sort();
            projects.dedup();
            Ok(RateChanges { projects, next_after: i64::try_from(changes.len()).unwrap_or(i64::MAX), more: false })
        })
    }

    fn project_outcome<'a>(&'a self, project: &'a str) -> Answer<'a, OutcomeFacts> {
        let found = self.0.lock().ok().and_then(|map| map.get(project).cloned());
        Box::pin(async move { Ok(found.unwrap_or_default()) })
    }
}

#[cfg(test)]
mod tests {
    use super::supervision_trainee;

    #[test]
    fn outcome_names_supervision_roster_entries_by_their_last_segment() {
        assert_eq!(supervision_trainee("classes/C7", "trainees/T42").as_deref(), Some("classes/C7/trainees/T42"));
        assert_eq!(supervision_trainee("classes/C7", "classes/C7/trainees/T42"), None);
        assert_eq!(supervision_trainee("", "trainees/T42"), None);
        assert_eq!(supervision_trainee("classes/C7", "trainees/"), None);
        assert_eq!(supervision_trainee("classes/C7/x", "trainees/T42"), None);
    }
}
