//! What the subsidy service reads from its peers, behind small traits (ports) so that a claim's
//! facts are gathered the same way whoever answers: over gRPC with the service's own `SERVICE`
//! token in production, by a test's own answers where a peer is not yet part of the suite.
//! Peers are never called inside a database transaction. A peer's refusal keeps its code (a
//! project that does not exist stays `NOT_FOUND`); a peer that cannot be reached is
//! `UNAVAILABLE`.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use qiancheng_api::FromProto as _;
use qiancheng_api::selection::GetProjectRequest;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
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
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// The county (or the city) that selected it: where its classes are filed and its claims
    /// decided (SUBS-SOD).
    pub region: RegionCode,
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
                provider_credit_code: project.provider_credit_code.clone(),
                region: RegionCode::parse(&project.region_code).map_err(|_| told("county"))?,
                occupation: OccupationCode::parse(&project.occupation_code).map_err(|_| told("occupation"))?,
                level: SkillLevel::required(project.skill_level).map_err(|_| told("skill level"))?,
            })
        })
    }
}
