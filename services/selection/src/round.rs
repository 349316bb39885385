//! Selection rounds (遴选批次, 七(一)(二)): a county's (or the city's) call for applications with
//! its method (遴选, 揭榜领题, 专家评审, 综合评议), quota and deadline. A round is opened, closed so
//! experts can score, and decided.
//!
//! The decision is made in three steps: the facts are gathered through the store (the submitted
//! applications with their scores, providers and catalog items, and the county's yearly quota);
//! each application is judged on the day of the decision and the policy core's
//! [`decide_round`](qiancheng_domain::policy::decide_round) ranks them and shares the quota under
//! the policy set's `quota_mode` (PROJ-SELECTION, PROV-DISQUALIFIED, PROJ-CROSS-REGION,
//! PROJ-CATALOG, PROJ-INSERVICE, PROJ-QUOTA): `STRICT` (v1) stops at the first application that
//! does not fit, `FIT` (v2) approves every one that still fits, and under v2 an officer may reduce
//! the marginal application's headcount instead (核减) with a recorded reason. The decision is
//! stored: projects for the approved applications, every other one rejected with the rule that
//! stopped it, and the ranking kept with the scores it was made from, the quota mode and the
//! policy set's version and digest, so it can be replayed.
//!
//! Concurrent writers: closing and deciding a round take the round's turn, and a decision takes
//! its county-year quota's turn too (`store::turn`), so two decisions never approve the same
//! remaining quota and nothing changes a round's applications while it is decided.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike as _, NaiveDate};
use qiancheng_api::convert::Shown as _;
use qiancheng_api::selection::*;
use qiancheng_api::{FromProto as _, IntoProto, convert};
use qiancheng_domain::lifecycle::{ApplicationState, Lifecycle as _, RoundState};
use qiancheng_domain::policy::selection::{
    Application, ExpertScore, QuotaReduction as Reduction, RoundFacts, RoundOutcome, Scoring, SelectionMethod,
    decide_round as decide_round_rule, judge_application, proj_selection_points,
};
use qiancheng_domain::policy::{Decision, PolicySet, RuleResult};
use qiancheng_domain::{Code as _, RegionCode, today_in_china};
use qiancheng_platform::auth::Principal;
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};
use rust_decimal::Decimal;

use crate::access;
use crate::store::application::{self, ApplicationRecord};
use crate::store::catalog::CatalogItemRecord;
use crate::store::expert::AssignmentRecord;
use crate::store::project::ProjectRecord;
use crate::store::provider::{self, ProviderRecord};
use crate::store::quota::QuotaRecord;
use crate::store::round::{RoundRecord, StoredRank};
use crate::store::turn;

impl From<&StoredRank> for RankedApplication {
    /// One application's place as a decided round shows it, with the scores it was ranked on.
    fn from(rank: &StoredRank) -> Self {
        RankedApplication {
            application: format!("applications/{}", rank.application_id),
            rank: convert::int32(rank.rank),
            score: rank.score.map(|s| s.normalize().to_string()).unwrap_or_default(),
            headcount: convert::int32(rank.headcount),
            approved: rank.approved,
            rules: rank.rules.iter().map(IntoProto::into_proto).collect(),
            expert_scores: (rank.expert_scores.iter())
                .map(|e| ExpertScoreRecord {
                    expert: e.expert.clone(),
                    organisation: e.organisation.clone(),
                    recused: e.conflict_declared,
                    score: e.score.normalize().to_string(),
                })
                .collect(),
            submitted_micros: rank.submitted_micros,
            approved_headcount: convert::int32(rank.approved_headcount()),
            reduction: rank.reduction.as_ref().map(|r| QuotaReduction {
                application: format!("applications/{}", r.application_id),
                headcount: i32::try_from(r.headcount).unwrap_or(i32::MAX),
                reason: r.reason.clone(),
                officer: r.officer.clone(),
            }),
        }
    }
}

impl From<&RoundRecord> for Round {
    /// The round as the API shows it.
    fn from(record: &RoundRecord) -> Self {
        Round {
            name: record.name(),
            ranking: record.ranking.iter().map(RankedApplication::from).collect(),
            ..record.shown()
        }
    }
}

/// CreateRound: opens a round for a county (or, for city administrators, the city).
pub async fn create_round(s: &Shared, call: Call<CreateRoundRequest>) -> Result<CreateRoundResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let input = call.message.round.clone().unwrap_or_default();
    // The proto's rules checked the region, the method and the deadline; here they are parsed.
    let region = RegionCode::parse(&input.region_code).map_err(|e| Error::invalid_value("round.region_code", e))?;
    let method = SelectionMethod::required(input.method).map_err(|e| Error::invalid_value("round.method", e))?;
    let deadline =
        NaiveDate::required(input.deadline.as_ref()).map_err(|e| Error::invalid_value("round.deadline", e))?;
    access::check_officer_region(&call.principal, &scope, region)?;
    let record = RoundRecord {
        id: new_id(),
        title: input.title.trim().to_owned(),
        region,
        method,
        quota: i64::from(input.quota),
        deadline,
        state: RoundState::Open,
        approved_headcount: 0,
        ranking: Vec::new(),
        policy_version: String::new(),
        policy_digest: String::new(),
        quota_mode: None,
        created_by: call.principal.subject.clone(),
        stamp: Stamp::new(),
    };
    write::run(s, &call, async |change| {
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "round.create",
            record.name(),
            serde_json::json!({ "region": record.region.code(), "method": record.method.code_of(), "quota": record.quota,
                "deadline": record.deadline.to_string() }),
        );
        Ok(CreateRoundResponse { round: Some(Round::from(&record)) })
    })
    .await
}

/// GetRound: any authenticated caller; a county officer only their county's and the city's.
pub async fn get_round(s: &Shared, call: Call<GetRoundRequest>) -> Result<GetRoundResponse, Error> {
    let name = &call.message.name;
    let id = id_of(name, "rounds", "name")?;
    let found = record::find::<RoundRecord>(s.db.pool(), id).await?;
    let record = found.ok_or_else(|| access::missing_public(&call.principal, name))?;
    access::check_public(&call.principal, &[record.region])?;
    Ok(GetRoundResponse { round: Some(Round::from(&record)) })
}

/// ListRounds: any authenticated caller (a county officer sees their county's and the city's);
/// filters by region (a county or the city) and state.
pub async fn list_rounds(s: &Shared, call: Call<ListRoundsRequest>) -> Result<ListRoundsResponse, Error> {
    let m = &call.message;
    // The proto's rules checked the region (empty: every region) and the state (none: any state).
    let region = RegionCode::parse(&m.region_code).ok().map(|r| r.code());
    let state = RoundState::from_proto(m.state).ok().flatten().map(|s| s.code());
    let query = format!("rounds|{}|{}", region.unwrap_or_default(), state.unwrap_or_default());
    let page = PageRequest::parse(m.page_size, &m.page_token, &query)?;
    let filter = Filter::new().eq_given("r.region_code", region).eq_given("r.state", state);
    let filter = access::public_within(&call.principal, filter, &["r.region_code"]);
    let (records, next_page_token) = record::page::<RoundRecord>(&s.db, filter, &page).await?;
    Ok(ListRoundsResponse { rounds: records.iter().map(Round::from).collect(), next_page_token })
}

/// Loads a round the officer acts for inside `change`, after taking the round's turn: what is
/// read of it then stays as read until the change commits.
async fn load_for_change(change: &mut Change, principal: &Principal, name: &str) -> Result<RoundRecord, Error> {
    let scope = access::officer_scope(principal)?;
    let id = id_of(name, "rounds", "name")?;
    change.serialize_on(&turn::round(id)).await?;
    let record = record::find::<RoundRecord>(&mut *change.tx, id).await?.ok_or_else(|| scope.missing(name))?;
    access::check_officer_region(principal, &scope, record.region)?;
    Ok(record)
}

/// CloseRound: OPEN → CLOSED; applications are no longer taken and experts may score.
pub async fn close_round(s: &Shared, call: Call<CloseRoundRequest>) -> Result<CloseRoundResponse, Error> {
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &call.principal, &call.message.name).await?;
        record.state = record.state.to(RoundState::Closed)?;
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        change.audit("round.close", record.name(), serde_json::json!({}));
        Ok(CloseRoundResponse { round: Some(Round::from(&record)) })
    })
    .await
}

/// The officers' scores of a round decided by another method than expert review, validated.
fn officer_scores(scores: &[OfficerScore], v: &mut Violations) -> BTreeMap<String, Decimal> {
    let mut by_application = BTreeMap::new();
    for (i, s) in scores.iter().enumerate() {
        // The proto's rule checked the application's name.
        let Ok(id) = convert::resource_id(&s.application, "applications") else { continue };
        let Some(score) = proj_selection_points(&s.score, Decimal::ONE_HUNDRED) else {
            v.add(
                &format!("officer_scores[{i}].score"),
                "PROJ-SELECTION",
                "a score is a number from 0 to 100 with at most two decimals",
            );
            continue;
        };
        if by_application.insert(id.to_owned(), score).is_some() {
            v.add(&format!("officer_scores[{i}].application"), "PROJ-SELECTION", "each application is scored once");
        }
    }
    by_application
}

/// The officer's reductions (核减) asked for (their fields checked by the proto's rules): each
/// names an application once; `officer` makes them.
fn reductions(asked: &[QuotaReduction], officer: &str, v: &mut Violations) -> Vec<Reduction> {
    let mut out: Vec<Reduction> = Vec::with_capacity(asked.len());
    for (i, r) in asked.iter().enumerate() {
        let (Ok(id), Ok(headcount)) =
            (convert::resource_id(&r.application, "applications"), u32::try_from(r.headcount))
        else {
            continue;
        };
        if out.iter().any(|o| o.application_id == id) {
            v.add(&format!("reductions[{i}].application"), "PROJ-SELECTION", "each application is reduced once");
            continue;
        }
        let reason = r.reason.trim().to_owned();
        out.push(Reduction { application_id: id.to_owned(), headcount, reason, officer: officer.to_owned() });
    }
    out
}

/// One submitted application, its catalog item, and the facts it is judged on.
#[derive(Debug, Clone)]
struct Candidate {
    application: ApplicationRecord,
    item: CatalogItemRecord,
    facts: Application,
}

/// Decides a round on `today` under `policy` with `quota_left` trainees and the officer's
/// `reductions`: the candidates are judged ([`judge_application`]) and the policy core ranks them
/// and shares the quota under the set's mode (PROJ-SELECTION, PROJ-QUOTA). A reduction the core
/// cannot apply (not a candidate, not below what it asked, a set without 核减) is the request's
/// fault.
fn decide(
    policy: &PolicySet,
    today: NaiveDate,
    quota_left: u32,
    candidates: &[Candidate],
    reductions: Vec<Reduction>,
) -> Result<Decision<RoundOutcome>, Error> {
    let facts = RoundFacts {
        candidates: candidates.iter().map(|c| judge_application(policy, today, &c.facts)).collect(),
        quota_left,
        reductions,
    };
    decide_round_rule(policy, &facts).map_err(|e| {
        let why = match e {
            qiancheng_domain::Error::Facts(why) => why,
            other => other.to_string(),
        };
        Error::invalid("reductions", "PROJ-SELECTION", why)
    })
}

/// What a round's decision rests on, read inside the decision's transaction.
struct Facts {
    candidates: Vec<Candidate>,
    /// The county's quota for the year of the round's deadline.
    year_quota: QuotaRecord,
}

/// Gathers the facts of deciding `record` with the officers' scores `given`; refuses a round
/// whose scores are missing or misplaced (PROJ-SELECTION) or whose county has no quota for the
/// year (PROJ-QUOTA). The caller holds the round's and the quota's turns.
async fn gather(change: &mut Change, record: &RoundRecord, given: &BTreeMap<String, Decimal>) -> Result<Facts, Error> {
    let of_round = ("a.round_id", record.id.as_str());
    let submitted = application::in_states(&mut change.tx, of_round, &[ApplicationState::Submitted]).await?;
    // PROJ-QUOTA: the round approves within its own quota and within what is left of its
    // county's quota for the year of its deadline, so no number of rounds can exceed the latter.
    let year = i64::from(record.deadline.year());
    let year_quota = record::find::<QuotaRecord>(&mut *change.tx, QuotaRecord::id_of(record.region, year)).await?;
    let year_quota = year_quota.ok_or_else(|| {
        Error::Refused(RuleResult::fail(
            "PROJ-QUOTA",
            format!("{}{year}年度名额尚未下达", record.region.name()),
            format!("no quota is set for {} in {year}; the city sets it first", record.region.code()),
        ))
    })?;
    // PROJ-SELECTION: every submitted application is scored by the round's method.
    if record.method == SelectionMethod::ExpertReview {
        if !given.is_empty() {
            return Err(Error::invalid(
                "officer_scores",
                "PROJ-SELECTION",
                "a round under expert review is scored by its experts",
            ));
        }
    } else {
        let ids: BTreeSet<&str> = submitted.iter().map(|a| a.id.as_str()).collect();
        let unknown = given.keys().filter(|id| !ids.contains(id.as_str())).count();
        let unscored = ids.iter().filter(|id| !given.contains_key(**id)).count();
        if unknown > 0 || unscored > 0 {
            return Err(Error::invalid(
                "officer_scores",
                "PROJ-SELECTION",
                format!(
                    "give one score for every submitted application of the round (missing {unscored}, not submitted in it {unknown})"
                ),
            ));
        }
    }
    // PROV-DISQUALIFIED: the providers stay as read until the decision commits (their turns are
    // taken in one order, after the round's and the quota's, as every change takes them).
    let providers: BTreeSet<String> = submitted.iter().map(|a| a.provider_credit_code.clone()).collect();
    for code in &providers {
        change.serialize_on(&turn::provider(code)).await?;
    }
    // Each provider and catalog item is read once, however many applications name it.
    let named = Filter::new().among("p.credit_code", providers.iter().map(String::as_str));
    let named = record::all::<ProviderRecord>(&mut *change.tx, named, "").await?;
    let provider_records = provider::with_violations(&mut change.tx, named).await?;
    let item_ids: BTreeSet<&str> = submitted.iter().map(|a| a.catalog_item_id.as_str()).collect();
    let items = record::all::<CatalogItemRecord>(&mut *change.tx, Filter::new().among("c.id", item_ids), "").await?;
    let mut candidates = Vec::with_capacity(submitted.len());
    for application in submitted {
        let scoring = if record.method == SelectionMethod::ExpertReview {
            Scoring::Experts(expert_scores(change, &application).await?)
        } else {
            Scoring::Officers(given.get(&application.id).copied().unwrap_or_default())
        };
        let provider = provider_records.iter().find(|p| p.credit_code == application.provider_credit_code);
        let item = items.iter().find(|i| i.id == application.catalog_item_id);
        let (Some(provider), Some(item)) = (provider, item) else {
            return Err(Error::corrupt("an application of an unknown provider or catalog item"));
        };
        let facts = Application {
            application_id: application.id.clone(),
            provider_credit_code: application.provider_credit_code.clone(),
            headcount: u32::try_from(application.headcount).unwrap_or(u32::MAX),
            submitted_micros: application.submitted_micros,
            scoring,
            provider: provider.facts(None),
            regions: (provider.region, application.training_region, !application.consent_reference.is_empty()),
            item_withdrawn: item.no_longer_published(),
            in_service: application.in_service_trainees.then(|| item.in_service_basis()),
        };
        candidates.push(Candidate { application, item: item.clone(), facts });
    }
    Ok(Facts { candidates, year_quota })
}

/// The experts' scores of `application`, recused experts included; refuses while an expert who
/// is not recused has not scored (PROJ-SELECTION).
async fn expert_scores(change: &mut Change, application: &ApplicationRecord) -> Result<Vec<ExpertScore>, Error> {
    let of_application = Filter::new().eq("e.application_id", application.id.as_str());
    let assignments = record::all::<AssignmentRecord>(&mut *change.tx, of_application, "e.expert").await?;
    if let Some(pending) = assignments.iter().find(|a| !a.recused && a.score.is_none()) {
        return Err(Error::precondition(
            "PROJ-SELECTION",
            format!("expert {} has not scored {} yet", pending.expert, application.name()),
        ));
    }
    Ok(assignments
        .into_iter()
        .map(|a| ExpertScore {
            expert: a.expert,
            organisation: a.organisation,
            conflict_declared: a.recused,
            score: a.score.unwrap_or_default(),
        })
        .collect())
}

/// Stores the decision `outcome` of `record` made under `policy`: a project for each approved
/// application (for its approved headcount), every other one rejected with the first rule that
/// stopped it, and the ranking. Returns the projects.
async fn persist(
    change: &mut Change,
    record: &mut RoundRecord,
    (outcome, policy): (RoundOutcome, &PolicySet),
    candidates: Vec<Candidate>,
) -> Result<Vec<Project>, Error> {
    let actor = change.actor().to_owned();
    let now = now_micros();
    let mut candidates: BTreeMap<String, Candidate> =
        candidates.into_iter().map(|c| (c.application.id.clone(), c)).collect();
    let mut projects = Vec::new();
    record.ranking = Vec::with_capacity(outcome.ranking.len());
    record.approved_headcount = i64::try_from(outcome.approved_headcount).unwrap_or(i64::MAX);
    for r in outcome.ranking {
        let Candidate { application: mut a, item, .. } =
            candidates.remove(&r.application_id).ok_or_else(|| Error::corrupt("a ranked application went missing"))?;
        let rank = i64::from(r.rank);
        let approved_headcount = i64::from(r.approved_headcount);
        if r.approved {
            let project = ProjectRecord::approve(&new_id(), (&a, approved_headcount), (record, &item), policy, now);
            record::insert(&mut change.tx, &project).await?;
            let why = match &r.reduction {
                // 核减: the history says by how much and why.
                Some(reduced) => {
                    format!("{}, rank {rank}, reduced to {} ({})", project.name(), reduced.headcount, reduced.reason)
                }
                None => format!("{}, rank {rank}", project.name()),
            };
            let step = ("approve", actor.as_str(), why.as_str());
            application::transition(&mut change.tx, &mut a, ApplicationState::Approved, step).await?;
            projects.push(Project::from(&project));
        } else {
            let failed = r.rules.iter().find(|rule| !rule.passed).map_or("PROJ-SELECTION", |rule| rule.code.as_str());
            let step = ("reject", actor.as_str(), failed);
            application::transition(&mut change.tx, &mut a, ApplicationState::Rejected, step).await?;
        }
        record.ranking.push(StoredRank {
            application_id: a.id,
            rank,
            score: r.score,
            headcount: a.headcount,
            submitted_micros: a.submitted_micros,
            expert_scores: r.expert_scores,
            approved: r.approved,
            approved_headcount: Some(approved_headcount),
            reduction: r.reduction,
            rules: r.rules,
        });
    }
    Ok(projects)
}

/// DecideRound: ranks the submitted applications and approves them within the quota under the
/// policy set's mode, with the officer's reductions (see the module docs); makes a project of
/// each approved one and rejects the others with the rule that stopped them; applications still
/// in draft or returned are rejected as not submitted in time. The round keeps the mode, the
/// policy set's version and its digest.
pub async fn decide_round(s: &Shared, call: Call<DecideRoundRequest>) -> Result<DecideRoundResponse, Error> {
    access::officer_scope(&call.principal)?;
    let mut v = Violations::default();
    let given = officer_scores(&call.message.officer_scores, &mut v);
    let reduced = reductions(&call.message.reductions, &call.principal.subject, &mut v);
    v.finish()?;
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &call.principal, &call.message.name).await?;
        record.state.require(&[RoundState::Closed], "be decided; close it first")?;
        // PROJ-QUOTA: every round of the county and year draws on one quota; their decisions take
        // turns, each reading what the others approved.
        change.serialize_on(&turn::quota(record.region, i64::from(record.deadline.year()))).await?;
        let facts = gather(change, &record, &given).await?;
        let quota_left = u32::try_from(record.quota.min(facts.year_quota.remaining())).unwrap_or(0);
        let decision = decide(&s.policy, today_in_china(), quota_left, &facts.candidates, reduced.clone())?;
        let summary = decision.rules.first().map(|r| r.reason_en.clone()).unwrap_or_default();
        let mode = decision.outcome.quota_mode;
        let projects = persist(change, &mut record, (decision.outcome, &s.policy), facts.candidates).await?;
        let actor = change.actor().to_owned();
        let not_submitted = [ApplicationState::Draft, ApplicationState::Returned];
        let mut unsubmitted = Vec::new();
        let of_round = ("a.round_id", record.id.as_str());
        for mut a in application::in_states(&mut change.tx, of_round, &not_submitted).await? {
            let step = ("reject", actor.as_str(), "not submitted when the round was decided");
            application::transition(&mut change.tx, &mut a, ApplicationState::Rejected, step).await?;
            unsubmitted.push(a.id);
        }
        record.state = record.state.to(RoundState::Decided)?;
        record.policy_version = decision.policy_version;
        record.policy_digest = s.policy.digest();
        record.quota_mode = Some(mode);
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        let year = &facts.year_quota;
        change.audit(
            "round.decide",
            record.name(),
            serde_json::json!({ "method": record.method.code_of(), "quota": record.quota, "year_quota": year.trainees,
                "year_remaining_before": year.remaining(), "approved_headcount": record.approved_headcount,
                "quota_mode": mode.code(), "policy_digest": record.policy_digest, "summary": summary,
                "reductions": reduced.iter().map(|r| serde_json::json!({ "application": r.application_id,
                    "headcount": r.headcount, "reason": r.reason })).collect::<Vec<_>>(),
                "ranked": record.ranking.len(), "approved": projects.iter().map(|p| &p.application).collect::<Vec<_>>(),
                "rejected_unsubmitted": unsubmitted }),
        );
        Ok(DecideRoundResponse { round: Some(Round::from(&record)), projects })
    })
    .await
}
