//! The demand service (`qiancheng.demand.v1.DemandService`): what employers need and what
//! workers want (plan 二(一), 三(一)–(四)).
//!
//! It owns enterprises that file demand, their vacancies (附件1 岗位需求表) with every revision,
//! workers' employment and training needs (personal data encrypted at rest, masked in
//! responses), matching both ways with the reasons for each score, the training-need summary the
//! selection service builds its catalog from, the public demand board and its statistics.
//!
//! One module per resource, each with its handlers, rules and queries together:
//! [`enterprise`], [`vacancy`], [`worker_need`], [`matching`], [`summary`]. [`access`] holds who
//! may see what; [`error`] the one mapping of the service's errors to gRPC statuses.

pub mod access;
pub mod enterprise;
pub mod error;
pub mod matching;
pub mod summary;
pub mod vacancy;
pub mod worker_need;

use std::sync::Arc;

use qiancheng_api::demand::demand_service_server::{DemandService, DemandServiceServer};
use qiancheng_api::demand::*;
use qiancheng_platform::auth::Authenticator;
use qiancheng_platform::config::Settings;
use qiancheng_platform::db::Db;
use qiancheng_platform::pii::PiiCipher;
use tonic::service::Routes;
use tonic::{Request, Response, Status, Streaming};

pub use error::DemandError;

/// The service's error domain and protobuf package.
pub const DOMAIN: &str = "qiancheng.demand.v1";
/// The fully qualified gRPC service name.
pub const SERVICE_NAME: &str = "qiancheng.demand.v1.DemandService";
/// The service's short name: its SQLite file, its `serve` argument.
pub const NAME: &str = "demand";

/// The service's own migrations (the platform's run first).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// What every handler shares.
#[derive(Debug)]
pub struct State {
    /// The service's database.
    pub db: Db,
    /// Encrypts and hashes personal data.
    pub pii: PiiCipher,
    /// The policy-set version recorded with every audit row.
    pub policy_version: String,
}

/// The demand service.
#[derive(Debug, Clone)]
pub struct Demand {
    state: Arc<State>,
}

impl Demand {
    /// A service over `state`.
    pub fn new(state: State) -> Self {
        Self { state: Arc::new(state) }
    }

    /// The service's routes, behind token authentication, with the configured message-size limit.
    pub fn routes(self, auth: &Authenticator, settings: &Settings) -> Routes {
        let server = DemandServiceServer::new(self)
            .max_decoding_message_size(settings.max_message_bytes)
            .max_encoding_message_size(settings.max_message_bytes);
        Routes::new(tonic::service::interceptor::InterceptedService::new(server, auth.interceptor(DOMAIN)))
    }
}

/// Connects to the database of `settings` and migrates it.
pub async fn open_db(settings: &Settings) -> Result<Db, DemandError> {
    Ok(Db::connect(&settings.database_url_for(NAME), settings.db_max_connections, &MIGRATOR).await?)
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, DemandError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl DemandService for Demand {
    async fn create_enterprise(&self, r: Request<CreateEnterpriseRequest>) -> Reply<CreateEnterpriseResponse> {
        reply(enterprise::create(&self.state, r).await)
    }
    async fn get_enterprise(&self, r: Request<GetEnterpriseRequest>) -> Reply<GetEnterpriseResponse> {
        reply(enterprise::get(&self.state, r).await)
    }
    async fn list_enterprises(&self, r: Request<ListEnterprisesRequest>) -> Reply<ListEnterprisesResponse> {
        reply(enterprise::list(&self.state, r).await)
    }
    async fn update_enterprise(&self, r: Request<UpdateEnterpriseRequest>) -> Reply<UpdateEnterpriseResponse> {
        reply(enterprise::update(&self.state, r).await)
    }
    async fn create_vacancy(&self, r: Request<CreateVacancyRequest>) -> Reply<CreateVacancyResponse> {
        reply(vacancy::create(&self.state, r).await)
    }
    async fn get_vacancy(&self, r: Request<GetVacancyRequest>) -> Reply<GetVacancyResponse> {
        reply(vacancy::get(&self.state, r).await)
    }
    async fn list_vacancies(&self, r: Request<ListVacanciesRequest>) -> Reply<ListVacanciesResponse> {
        reply(vacancy::list(&self.state, r).await)
    }
    async fn update_vacancy(&self, r: Request<UpdateVacancyRequest>) -> Reply<UpdateVacancyResponse> {
        reply(vacancy::update(&self.state, r).await)
    }
    async fn publish_vacancy(&self, r: Request<PublishVacancyRequest>) -> Reply<PublishVacancyResponse> {
        reply(vacancy::publish(&self.state, r).await)
    }
    async fn fill_vacancy(&self, r: Request<FillVacancyRequest>) -> Reply<FillVacancyResponse> {
        reply(vacancy::fill(&self.state, r).await)
    }
    async fn withdraw_vacancy(&self, r: Request<WithdrawVacancyRequest>) -> Reply<WithdrawVacancyResponse> {
        reply(vacancy::withdraw(&self.state, r).await)
    }
    async fn list_vacancy_revisions(
        &self,
        r: Request<ListVacancyRevisionsRequest>,
    ) -> Reply<ListVacancyRevisionsResponse> {
        reply(vacancy::list_revisions(&self.state, r).await)
    }
    async fn import_vacancies(&self, r: Request<Streaming<ImportVacanciesRequest>>) -> Reply<ImportVacanciesResponse> {
        reply(vacancy::import(&self.state, r).await)
    }
    async fn create_worker_need(&self, r: Request<CreateWorkerNeedRequest>) -> Reply<CreateWorkerNeedResponse> {
        reply(worker_need::create(&self.state, r).await)
    }
    async fn get_worker_need(&self, r: Request<GetWorkerNeedRequest>) -> Reply<GetWorkerNeedResponse> {
        reply(worker_need::get(&self.state, r).await)
    }
    async fn list_worker_needs(&self, r: Request<ListWorkerNeedsRequest>) -> Reply<ListWorkerNeedsResponse> {
        reply(worker_need::list(&self.state, r).await)
    }
    async fn update_worker_need(&self, r: Request<UpdateWorkerNeedRequest>) -> Reply<UpdateWorkerNeedResponse> {
        reply(worker_need::update(&self.state, r).await)
    }
    async fn match_vacancies(&self, r: Request<MatchVacanciesRequest>) -> Reply<MatchVacanciesResponse> {
        reply(matching::match_vacancies(&self.state, r).await)
    }
    async fn match_workers(&self, r: Request<MatchWorkersRequest>) -> Reply<MatchWorkersResponse> {
        reply(matching::match_workers(&self.state, r).await)
    }
    async fn summarize_training_needs(
        &self,
        r: Request<SummarizeTrainingNeedsRequest>,
    ) -> Reply<SummarizeTrainingNeedsResponse> {
        reply(summary::summarize_training_needs(&self.state, r).await)
    }
    async fn list_published_vacancies(
        &self,
        r: Request<ListPublishedVacanciesRequest>,
    ) -> Reply<ListPublishedVacanciesResponse> {
        reply(summary::list_published(&self.state, r).await)
    }
    async fn get_demand_statistics(
        &self,
        r: Request<GetDemandStatisticsRequest>,
    ) -> Reply<GetDemandStatisticsResponse> {
        reply(summary::statistics(&self.state, r).await)
    }
    async fn verify_audit_chain(&self, r: Request<VerifyAuditChainRequest>) -> Reply<VerifyAuditChainResponse> {
        reply(summary::verify_audit_chain(&self.state, r).await)
    }
}
