//! Who is watched: outcome follows supervision. A follower task reads supervision's change feed
//! after a stored cursor, and for each project named there reads its whole real-name roster
//! (`ListProjectTrainees`, under the service's own SERVICE identity) and the project from
//! selection (its provider and training county); the trainees are refreshed, certificates from
//! skill evaluations are taken as evidence (one record per number), and every verdict and rate
//! of the project is recomputed, in one transaction with the cursor.
//!
//! Supervision is reached through [`FeedPort`], so tests feed the changes they want followed;
//! [`PeerFeed`] is the port over gRPC.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::outcome as api;
use qiancheng_api::selection::GetProjectRequest;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::{
    ClassState, ListClassChangesRequest, ListProjectTraineesRequest, ProjectTrainee, TraineeState,
};
use qiancheng_domain::{RegionCode, TargetGroup};
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::service::Peers;
use qiancheng_platform::write::Change;
use qiancheng_platform::{Error, Stamp};

use crate::Outcome;
pub use crate::roster::Roster;
use crate::store::evidence::EvidenceRecord;
use crate::store::trainee::TraineeRecord;
use crate::store::wage::FeedCursorRecord;

/// How often the follower asks for changes.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// The cursor's name.
const FEED: &str = "supervision";

/// A future of the port.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// The projects whose classes changed after a cursor, and the cursor after them.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// The projects, `projects/{id}`, each once.
    pub projects: Vec<String>,
    /// Where to read from next time.
    pub cursor: String,
    /// More changes were already there: read again at once.
    pub more: bool,
}

/// What outcome reads from supervision (and selection).
pub trait FeedPort: Send + Sync + std::fmt::Debug + 'static {
    /// The projects whose classes changed after `cursor` (empty: from the beginning).
    fn changes<'a>(&'a self, cursor: &'a str) -> PortFuture<'a, Changes>;
    /// A project's roster, `projects/{id}`.
    fn roster<'a>(&'a self, project: &'a str) -> PortFuture<'a, Roster>;
}

/// The port over gRPC: supervision's `ListClassChanges` and `ListProjectTrainees` and
/// selection's `GetProject`, with the service's own SERVICE token.
#[derive(Debug, Clone)]
pub struct PeerFeed {
    peers: Peers,
}

impl PeerFeed {
    /// The port over the service's peers.
    pub fn new(peers: Peers) -> Self {
        Self { peers }
    }
}

impl FeedPort for PeerFeed {
    fn changes<'a>(&'a self, cursor: &'a str) -> PortFuture<'a, Changes> {
        Box::pin(async move {
            let peer = self.peers.get("supervision")?;
            let after: i64 = if cursor.is_empty() {
                0
            } else {
                cursor.parse().map_err(|_| Error::corrupt("the cursor of supervision's change feed"))?
            };
            let read = SupervisionServiceClient::new(peer.channel())
                .list_class_changes(ListClassChangesRequest { after, page_size: 1000 })
                .await
                .map_err(|status| peer.refused(status))?
                .into_inner();
            let mut projects: Vec<String> = read.changes.into_iter().map(|c| c.project).collect();
            projects.sort();
            projects.dedup();
            Ok(Changes { projects, cursor: read.next_after.to_string(), more: read.more })
        })
    }

    fn roster<'a>(&'a self, project: &'a str) -> PortFuture<'a, Roster> {
        Box::pin(async move {
            let selection = self.peers.get("selection")?;
            let about = SelectionServiceClient::new(selection.channel())
                .get_project(GetProjectRequest { name: project.to_owned() })
                .await
                .map_err(|status| selection.refused(status))?
                .into_inner()
                .project
                .ok_or_else(|| Error::corrupt("selection answered GetProject without a project"))?;
            let region = RegionCode::parse(&about.training_region_code)
                .or_else(|_| RegionCode::parse(&about.region_code))
                .map_err(|_| Error::corrupt("selection's project without a county"))?;
            let supervision = self.peers.get("supervision")?;
            let mut client = SupervisionServiceClient::new(supervision.channel());
            let mut trainees = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_project_trainees(ListProjectTraineesRequest {
                        project: project.to_owned(),
                        page_size: 500,
                        page_token,
                    })
                    .await
                    .map_err(|status| supervision.refused(status))?
                    .into_inner();
                trainees.extend(page.trainees);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            Ok(Roster {
                project: project.to_owned(),
                provider_credit_code: about.provider_credit_code,
                region,
                trainees,
            })
        })
    }
}

/// Follows `feed` until the runtime stops: every `interval`, one round of [`follow_once`]. A
/// failed round is logged (without personal data) and tried again next time.
pub async fn run(outcome: Outcome, feed: Arc<dyn FeedPort>, interval: Duration) {
    loop {
        if let Err(error) = follow_once(&outcome, feed.as_ref()).await {
            tracing::info!(error = %error, "the follower of supervision's change feed waits");
        }
        tokio::time::sleep(interval).await;
    }
}

/// One round: [`follow_step`] until the feed has nothing more. Returns the projects refreshed.
pub async fn follow_once(outcome: &Outcome, feed: &dyn FeedPort) -> Result<Vec<String>, Error> {
    let mut refreshed = Vec::new();
    loop {
        let (projects, more) = follow_step(outcome, feed).await?;
        refreshed.extend(projects);
        if !more {
            return Ok(refreshed);
        }
    }
}

/// One read of the feed: the changes after the stored cursor, each changed project refreshed,
/// then the cursor moved. A project refreshed twice (after a failure before the cursor moved)
/// comes out the same. Returns the projects refreshed and whether more changes wait.
async fn follow_step(outcome: &Outcome, feed: &dyn FeedPort) -> Result<(Vec<String>, bool), Error> {
    let cursor = record::find::<FeedCursorRecord>(outcome.db.pool(), FEED).await?;
    let after = cursor.as_ref().map(|c| c.position.clone()).unwrap_or_default();
    let changes = feed.changes(&after).await?;
    let mut refreshed = Vec::new();
    for project in &changes.projects {
        let roster = feed.roster(project).await?;
        let mut change = Change::open(outcome, "service:outcome").await?;
        refresh(&mut change, outcome, &roster).await?;
        change.commit().await?;
        refreshed.push(project.clone());
    }
    if changes.cursor != after {
        let mut change = Change::open(outcome, "service:outcome").await?;
        let record = FeedCursorRecord {
            id: FEED.to_owned(),
            position: changes.cursor.clone(),
            update_time_micros: qiancheng_platform::time::now_micros(),
        };
        if cursor.is_some() {
            record::update(&mut change.tx, &record).await?;
        } else {
            record::insert(&mut change.tx, &record).await?;
        }
        change.commit().await?;
    }
    Ok((refreshed, changes.more && changes.cursor != after))
}

/// The rule that leaves a roster entry out of the rate (OUT-RATE), or none.
fn excluded_by(t: &ProjectTrainee) -> String {
    let failed = |decision: Option<&qiancheng_api::types::Decision>, code: &str| {
        decision.is_some_and(|d| d.rules.iter().any(|r| r.code == code && !r.passed))
    };
    if t.state == TraineeState::Removed as i32 || t.state == TraineeState::Rejected as i32 || t.added_in_version == 0 {
        return "ELIG-REALNAME".to_owned();
    }
    // 培训对象: PERSON-ID, ELIG-AGE, ELIG-FISCAL and ELIG-LOCAL (OUT-RATE).
    if t.budget_paid {
        return "ELIG-FISCAL".to_owned();
    }
    for code in ["PERSON-ID", "ELIG-AGE", "ELIG-FISCAL", "ELIG-LOCAL", "ELIG-OVERLAP"] {
        if failed(t.eligibility.as_ref(), code) {
            return code.to_owned();
        }
    }
    if !t.completed {
        let completion = t.completion.as_ref();
        return if failed(completion, "CLASS-ATTENDANCE") { "CLASS-ATTENDANCE" } else { "CLASS-COMPLETION" }.to_owned();
    }
    String::new()
}

fn date_of(value: Option<&qiancheng_api::types::Date>) -> Result<NaiveDate, Error> {
    convert::required_date(value).map_err(|_| Error::corrupt("a date of supervision's roster"))
}

fn id_after(name: &str, collection: &str) -> String {
    name.rsplit_once(&format!("{collection}/")).map_or_else(|| name.to_owned(), |(_, id)| id.to_owned())
}

/// Refreshes a project's trainees from its roster and recomputes its verdicts and rates.
pub async fn refresh(change: &mut Change, outcome: &Outcome, roster: &Roster) -> Result<(), Error> {
    let project_id = id_after(&roster.project, "projects");
    let existing: BTreeMap<String, TraineeRecord> = record::all::<TraineeRecord>(
        &mut *change.tx,
        Filter::new().eq("watched_trainee.project_id", project_id.as_str()),
        "id",
    )
    .await?
    .into_iter()
    .map(|t| (t.id.clone(), t))
    .collect();
    let mut records = Vec::with_capacity(roster.trainees.len());
    for t in &roster.trainees {
        let id = id_after(&t.name, "trainees");
        let person = t.person.clone().unwrap_or_default();
        let prehire_enterprise = if t.prehire_enterprise.is_empty() {
            t.key_project.as_ref().map(|k| k.enterprise.clone()).unwrap_or_default()
        } else {
            t.prehire_enterprise.clone()
        };
        let class_state = t.class_state;
        let stamp = existing.get(&id).map(|e| e.stamp).unwrap_or_default();
        records.push(TraineeRecord {
            id,
            roster_entry: t.name.clone(),
            class_id: id_after(&t.class, "classes"),
            project_id: project_id.clone(),
            provider_credit_code: roster.provider_credit_code.clone(),
            region: roster.region,
            person_hash: t.person_hash.clone(),
            id_number_masked: qiancheng_domain::IdNumber::parse(&person.id_number)
                .map(|id| id.masked())
                .unwrap_or_else(|_| person.id_number.clone()),
            name_masked: qiancheng_platform::pii::mask_name(&person.name),
            judged_group: convert::target_group(t.judged_group)
                .or_else(|_| convert::target_group(t.target_group))
                .unwrap_or(TargetGroup::OtherEligible),
            prior_level: convert::skill_level(t.skill_level).ok().flatten(),
            class_first_day: date_of(t.class_first_day.as_ref())?,
            class_last_day: date_of(t.class_last_day.as_ref())?,
            class_filed_on: date_of(t.class_filed_on.as_ref())?,
            class_completed: class_state == ClassState::Completed as i32 || class_state == ClassState::Stopped as i32,
            policy_version: t.policy_version.clone(),
            policy_digest: t.policy_digest.clone(),
            completed: t.completed,
            plan_trainee: true,
            excluded_by: excluded_by(t),
            prehire: t.key_project.is_some() || !t.prehire_enterprise.is_empty(),
            prehire_enterprise,
            occupation_code: t.occupation_code.clone(),
            stamp,
        });
    }
    one_person_once(&mut records);
    for mut r in records {
        r.plan_trainee = !matches!(r.excluded_by.as_str(), "PERSON-ID" | "ELIG-AGE" | "ELIG-FISCAL" | "ELIG-LOCAL");
        match existing.get(&r.id) {
            Some(_) => {
                r.stamp.touch();
                record::update(&mut change.tx, &r).await?;
            }
            None => {
                r.stamp = Stamp::new();
                record::insert(&mut change.tx, &r).await?;
            }
        }
    }
    import_certificates(change, outcome, roster, &project_id).await?;
    crate::exchange::remember_people(change, outcome, roster).await?;
    change.audit("refresh", roster.project.clone(), serde_json::json!({ "trainees": roster.trainees.len() }));
    crate::judge::recompute_project(change, outcome, &project_id, &roster.project).await
}

/// A person on two overlapping classes of the project counts once, in the class filed first
/// (ELIG-OVERLAP, OUT-RATE); later entries are left out.
fn one_person_once(records: &mut [TraineeRecord]) {
    let mut by_person: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if r.excluded_by != "ELIG-REALNAME" && !r.person_hash.is_empty() {
            by_person.entry(r.person_hash.clone()).or_default().push(i);
        }
    }
    for mut entries in by_person.into_values().filter(|e| e.len() > 1) {
        entries
            .sort_by_key(|i| (records[*i].class_filed_on, records[*i].class_first_day, records[*i].class_id.clone()));
        let mut kept: Vec<usize> = Vec::new();
        for later in entries {
            let overlaps = kept.iter().any(|k| {
                records[later].class_first_day <= records[*k].class_last_day
                    && records[*k].class_first_day <= records[later].class_last_day
            });
            if overlaps {
                if records[later].excluded_by.is_empty() {
                    records[later].excluded_by = "ELIG-OVERLAP".to_owned();
                }
            } else {
                kept.push(later);
            }
        }
    }
}

/// Certificates recorded in supervision (skill evaluations) become accepted evidence, one record
/// per certificate number: a number known already is not recorded twice.
async fn import_certificates(
    change: &mut Change,
    outcome: &Outcome,
    roster: &Roster,
    project_id: &str,
) -> Result<(), Error> {
    let today = outcome.today();
    for t in &roster.trainees {
        for evaluation in t.evaluations.iter().filter(|e| !e.certificate_number.trim().is_empty()) {
            let number = evaluation.certificate_number.trim().to_owned();
            if crate::store::evidence::holding_certificate(&mut *change.tx, &number).await?.is_some() {
                continue;
            }
            let kind = match evaluation.kind {
                1 => api::CertificateKind::VocationalQualification,
                2 => api::CertificateKind::SkillLevel,
                _ => api::CertificateKind::Other,
            };
            let trainee_id = id_after(&t.name, "trainees");
            let input = api::EvidenceInput {
                trainee: format!("trainees/{trainee_id}"),
                kind: api::EvidenceKind::Certificate as i32,
                certificate: Some(api::CertificateEvidence {
                    number: number.clone(),
                    kind: kind as i32,
                    occupation_code: evaluation.occupation_code.clone(),
                    level: evaluation.skill_level,
                    issued_on: evaluation.issued_on,
                    issuer: evaluation.issuer.clone(),
                }),
                media_type: "application/x-supervision-evaluation".to_owned(),
                ..Default::default()
            };
            let record = EvidenceRecord {
                id: ulid::Ulid::new().to_string(),
                trainee_id,
                project_id: project_id.to_owned(),
                class_id: id_after(&t.class, "classes"),
                provider_credit_code: roster.provider_credit_code.clone(),
                region: roster.region,
                kind: api::EvidenceKind::Certificate.as_str_name().to_owned(),
                state: api::EvidenceState::Accepted.as_str_name().to_owned(),
                source: api::EvidenceSource::Supervision.as_str_name().to_owned(),
                detail: crate::store::encode_message(&input),
                certificate_number: number,
                engagement_id: String::new(),
                document_sha256: String::new(),
                media_type: input.media_type.clone(),
                size_bytes: 0,
                retain_until: crate::Documents::retain_until(today),
                review: String::new(),
                reexamination: String::new(),
                submitted_by: "service:supervision".to_owned(),
                counts_from: Some(today),
                counts_until: None,
                stamp: Stamp::new(),
            };
            record::insert(&mut change.tx, &record).await?;
            change.audit("import_certificate", record.name(), serde_json::json!({ "source": "supervision" }));
        }
    }
    Ok(())
}
