//! The selection service (`qiancheng.selection.v1.SelectionService`): who may train, what is to
//! be trained, and which provider trains it (plan 二(二), 二(四), 六, 七(一)(二), 八(四)).
//!
//! It owns training providers (承训机构) and their eligibility under the PROV-* rules, the
//! training-project catalog (培训项目目录) built from the demand service's training-need summary,
//! applications with their filing, application and plan (附件2, 附件3, 一项目一方案), selection
//! rounds with expert review and quotas, the projects approved in them, brands (一县一品牌) and
//! disqualification. Other services ask it whether a provider and a project are in good standing.
//!
//! One module per resource, each with its handlers, rules and queries together: [`provider`],
//! [`catalog`], [`quota`], [`round`], [`application`], [`expert`], [`project`], [`brand`],
//! [`report`].
//! [`access`] holds who may see what; [`error`] the one mapping of the service's errors to
//! gRPC statuses. Every rule is decided by the policy core (`qiancheng_domain::policy`).

pub mod access;
pub mod application;
pub mod brand;
pub mod catalog;
pub mod error;
pub mod expert;
pub mod project;
pub mod provider;
pub mod quota;
pub mod report;
pub mod round;

use std::sync::Arc;

use qiancheng_api::selection::selection_service_server::{SelectionService, SelectionServiceServer};
use qiancheng_api::selection::*;
use qiancheng_domain::policy::set::PolicySet;
use qiancheng_platform::auth::{Authenticator, Role};
use qiancheng_platform::client::ServiceCredentials;
use qiancheng_platform::config::Settings;
use qiancheng_platform::db::Db;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

pub use error::SelectionError;

/// The service's error domain and protobuf package.
pub const DOMAIN: &str = "qiancheng.selection.v1";
/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "qiancheng.selection.v1.SelectionService";
/// The service's short name: its SQLite file, its `serve` argument.
pub const NAME: &str = "selection";

/// The service's own migrations (the platform's run first).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The demand service, as this service calls it.
#[derive(Debug, Clone)]
pub struct DemandPeer {
    /// Channel to the demand service.
    pub channel: Channel,
    /// The identity calls are made with.
    pub credentials: ServiceCredentials,
}

/// What every handler shares.
#[derive(Debug)]
pub struct State {
    /// The service's database.
    pub db: Db,
    /// The policy set decisions are made under.
    pub policy: PolicySet,
    /// The demand service, when configured.
    pub demand: Option<DemandPeer>,
}

impl State {
    /// Appends a change to the audit chain inside `tx`, the transaction of the change, under the
    /// policy-set version decisions are made under (SUBS-KEEP, 八(三) 全程留痕).
    pub async fn audit(
        &self,
        tx: &mut qiancheng_platform::db::Tx,
        principal: &qiancheng_platform::auth::Principal,
        action: &str,
        resource: &str,
        detail: serde_json::Value,
    ) -> Result<(), SelectionError> {
        let entry = qiancheng_platform::audit::AuditEntry {
            actor: &principal.subject,
            action,
            resource,
            detail,
            policy_version: &self.policy.version,
        };
        qiancheng_platform::audit::record(tx, entry).await?;
        Ok(())
    }
}

/// The selection service.
#[derive(Debug, Clone)]
pub struct Selection {
    state: Arc<State>,
}

impl Selection {
    /// A service over `state`.
    pub fn new(state: State) -> Self {
        Self { state: Arc::new(state) }
    }

    /// The service's routes, behind token authentication, with the configured message-size limit.
    pub fn routes(self, auth: &Authenticator, settings: &Settings) -> Routes {
        let server = SelectionServiceServer::new(self)
            .max_decoding_message_size(settings.max_message_bytes)
            .max_encoding_message_size(settings.max_message_bytes);
        Routes::new(tonic::service::interceptor::InterceptedService::new(server, auth.interceptor(DOMAIN)))
    }
}

/// Connects to the database of `settings` and migrates it.
pub async fn open_db(settings: &Settings) -> Result<Db, SelectionError> {
    Ok(Db::connect(&settings.database_url_for(NAME), settings.db_max_connections, &MIGRATOR).await?)
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, SelectionError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl SelectionService for Selection {
    async fn register_provider(&self, r: Request<RegisterProviderRequest>) -> Reply<RegisterProviderResponse> {
        reply(provider::register(&self.state, r).await)
    }
    async fn get_provider(&self, r: Request<GetProviderRequest>) -> Reply<GetProviderResponse> {
        reply(provider::get(&self.state, r).await)
    }
    async fn list_providers(&self, r: Request<ListProvidersRequest>) -> Reply<ListProvidersResponse> {
        reply(provider::list(&self.state, r).await)
    }
    async fn update_provider(&self, r: Request<UpdateProviderRequest>) -> Reply<UpdateProviderResponse> {
        reply(provider::update(&self.state, r).await)
    }
    async fn record_violation(&self, r: Request<RecordViolationRequest>) -> Reply<RecordViolationResponse> {
        reply(provider::record_violation(&self.state, r).await)
    }
    async fn override_pilot_credit_code(
        &self,
        r: Request<OverridePilotCreditCodeRequest>,
    ) -> Reply<OverridePilotCreditCodeResponse> {
        reply(provider::override_pilot_credit_code(&self.state, r).await)
    }
    async fn evaluate_provider_eligibility(
        &self,
        r: Request<EvaluateProviderEligibilityRequest>,
    ) -> Reply<EvaluateProviderEligibilityResponse> {
        reply(provider::evaluate(&self.state, r).await)
    }
    async fn disqualify_provider(&self, r: Request<DisqualifyProviderRequest>) -> Reply<DisqualifyProviderResponse> {
        reply(provider::disqualify(&self.state, r).await)
    }
    async fn check_standing(&self, r: Request<CheckStandingRequest>) -> Reply<CheckStandingResponse> {
        reply(provider::check_standing(&self.state, r).await)
    }
    async fn create_catalog_item(&self, r: Request<CreateCatalogItemRequest>) -> Reply<CreateCatalogItemResponse> {
        reply(catalog::create(&self.state, r).await)
    }
    async fn draft_catalog_from_demand(
        &self,
        r: Request<DraftCatalogFromDemandRequest>,
    ) -> Reply<DraftCatalogFromDemandResponse> {
        reply(catalog::draft_from_demand(&self.state, r).await)
    }
    async fn get_catalog_item(&self, r: Request<GetCatalogItemRequest>) -> Reply<GetCatalogItemResponse> {
        reply(catalog::get(&self.state, r).await)
    }
    async fn list_catalog_items(&self, r: Request<ListCatalogItemsRequest>) -> Reply<ListCatalogItemsResponse> {
        reply(catalog::list(&self.state, r).await)
    }
    async fn publish_catalog_item(&self, r: Request<PublishCatalogItemRequest>) -> Reply<PublishCatalogItemResponse> {
        reply(catalog::publish(&self.state, r).await)
    }
    async fn revise_catalog_item(&self, r: Request<ReviseCatalogItemRequest>) -> Reply<ReviseCatalogItemResponse> {
        reply(catalog::revise(&self.state, r).await)
    }
    async fn withdraw_catalog_item(
        &self,
        r: Request<WithdrawCatalogItemRequest>,
    ) -> Reply<WithdrawCatalogItemResponse> {
        reply(catalog::withdraw(&self.state, r).await)
    }
    async fn set_quota(&self, r: Request<SetQuotaRequest>) -> Reply<SetQuotaResponse> {
        reply(quota::set(&self.state, r).await)
    }
    async fn list_quotas(&self, r: Request<ListQuotasRequest>) -> Reply<ListQuotasResponse> {
        reply(quota::list(&self.state, r).await)
    }
    async fn create_round(&self, r: Request<CreateRoundRequest>) -> Reply<CreateRoundResponse> {
        reply(round::create(&self.state, r).await)
    }
    async fn get_round(&self, r: Request<GetRoundRequest>) -> Reply<GetRoundResponse> {
        reply(round::get(&self.state, r).await)
    }
    async fn list_rounds(&self, r: Request<ListRoundsRequest>) -> Reply<ListRoundsResponse> {
        reply(round::list(&self.state, r).await)
    }
    async fn close_round(&self, r: Request<CloseRoundRequest>) -> Reply<CloseRoundResponse> {
        reply(round::close(&self.state, r).await)
    }
    async fn decide_round(&self, r: Request<DecideRoundRequest>) -> Reply<DecideRoundResponse> {
        reply(round::decide(&self.state, r).await)
    }
    async fn create_application(&self, r: Request<CreateApplicationRequest>) -> Reply<CreateApplicationResponse> {
        reply(application::create(&self.state, r).await)
    }
    async fn get_application(&self, r: Request<GetApplicationRequest>) -> Reply<GetApplicationResponse> {
        reply(application::get(&self.state, r).await)
    }
    async fn list_applications(&self, r: Request<ListApplicationsRequest>) -> Reply<ListApplicationsResponse> {
        reply(application::list(&self.state, r).await)
    }
    async fn update_application(&self, r: Request<UpdateApplicationRequest>) -> Reply<UpdateApplicationResponse> {
        reply(application::update(&self.state, r).await)
    }
    async fn submit_application(&self, r: Request<SubmitApplicationRequest>) -> Reply<SubmitApplicationResponse> {
        reply(application::submit(&self.state, r).await)
    }
    async fn return_application(&self, r: Request<ReturnApplicationRequest>) -> Reply<ReturnApplicationResponse> {
        reply(application::return_for_correction(&self.state, r).await)
    }
    async fn reject_application(&self, r: Request<RejectApplicationRequest>) -> Reply<RejectApplicationResponse> {
        reply(application::reject(&self.state, r).await)
    }
    async fn record_cross_region_consent(
        &self,
        r: Request<RecordCrossRegionConsentRequest>,
    ) -> Reply<RecordCrossRegionConsentResponse> {
        reply(application::record_consent(&self.state, r).await)
    }
    async fn assign_experts(&self, r: Request<AssignExpertsRequest>) -> Reply<AssignExpertsResponse> {
        reply(expert::assign(&self.state, r).await)
    }
    async fn unassign_expert(&self, r: Request<UnassignExpertRequest>) -> Reply<UnassignExpertResponse> {
        reply(expert::unassign(&self.state, r).await)
    }
    async fn list_assignments(&self, r: Request<ListAssignmentsRequest>) -> Reply<ListAssignmentsResponse> {
        reply(expert::list_assignments(&self.state, r).await)
    }
    async fn declare_conflict(&self, r: Request<DeclareConflictRequest>) -> Reply<DeclareConflictResponse> {
        reply(expert::declare_conflict(&self.state, r).await)
    }
    async fn submit_score(&self, r: Request<SubmitScoreRequest>) -> Reply<SubmitScoreResponse> {
        reply(expert::submit_score(&self.state, r).await)
    }
    async fn get_project(&self, r: Request<GetProjectRequest>) -> Reply<GetProjectResponse> {
        reply(project::get(&self.state, r).await)
    }
    async fn list_projects(&self, r: Request<ListProjectsRequest>) -> Reply<ListProjectsResponse> {
        reply(project::list(&self.state, r).await)
    }
    async fn register_brand(&self, r: Request<RegisterBrandRequest>) -> Reply<RegisterBrandResponse> {
        reply(brand::register(&self.state, r).await)
    }
    async fn list_brands(&self, r: Request<ListBrandsRequest>) -> Reply<ListBrandsResponse> {
        reply(brand::list(&self.state, r).await)
    }
    async fn get_brand_report(&self, r: Request<GetBrandReportRequest>) -> Reply<GetBrandReportResponse> {
        reply(brand::report(&self.state, r).await)
    }
    async fn get_selection_report(&self, r: Request<GetSelectionReportRequest>) -> Reply<GetSelectionReportResponse> {
        reply(report::selection_report(&self.state, r).await)
    }
    async fn verify_audit_chain(&self, r: Request<VerifyAuditChainRequest>) -> Reply<VerifyAuditChainResponse> {
        let result = async {
            qiancheng_platform::auth::Principal::of(&r)?.require_any(&[Role::CityAdmin, Role::Auditor])?;
            let report = qiancheng_platform::audit::verify(self.state.db.pool()).await?;
            Ok(VerifyAuditChainResponse { report: Some(report.to_proto()) })
        }
        .await;
        reply(result)
    }
}
