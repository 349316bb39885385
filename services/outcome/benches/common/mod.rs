//! What the outcome benchmarks share: a real server on port 0 over a fresh database, and
//! watched trainees (with their ID numbers, for the exchange) written straight into it, as the
//! follower would have written them from supervision's roster.

#![allow(dead_code)]

use std::time::Duration;

use chrono::NaiveDate;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::{RegionCode, TargetGroup};
use qiancheng_outcome::store::exchange::ExchangePersonRecord;
use qiancheng_outcome::store::trainee::TraineeRecord;
use qiancheng_outcome::{Clock, SpecWith};
use qiancheng_platform::Stamp;
use qiancheng_platform::record;
use qiancheng_testkit::{Backend, Keys, TestService, fixtures};

/// The county of every class.
pub const COUNTY: &str = "421221";

/// Outcome on `backend` with no follower, a request timeout long enough for one big
/// transaction, and `max_message_bytes` (the server's QIANCHENG_MAX_MESSAGE_BYTES).
pub async fn start(backend: Backend, max_message_bytes: usize) -> Option<TestService> {
    let mut keys = Keys::new();
    keys.settings.request_timeout_ms = 30 * 60 * 1000;
    keys.settings.max_message_bytes = max_message_bytes;
    let spec = SpecWith { clock: Clock::system(), feed: None };
    TestService::start_with(&spec, backend, keys, Default::default()).await
}

/// The ID number of benchmark person `k` (distinct for every `k` below 9,000,000).
pub fn id_number(k: usize) -> String {
    let born =
        NaiveDate::from_ymd_opt(1980, 1, 1).expect("a day") + chrono::Days::new(u64::try_from(k / 900).expect("small"));
    fixtures::id_number(&format!("{COUNTY}{}{:03}", born.format("%Y%m%d"), 100 + k % 900))
}

/// Trainee `k` of project `k / per_project`, of a class that ended on `last_day`.
pub fn trainee(k: usize, per_project: usize, last_day: NaiveDate) -> TraineeRecord {
    let project = k / per_project;
    TraineeRecord {
        id: format!("t{k:07}"),
        roster_entry: format!("classes/c{project:05}/trainees/t{k:07}"),
        class_id: format!("c{project:05}"),
        project_id: format!("p{project:05}"),
        provider_credit_code: fixtures::uscc("52421221MJ0000044"),
        region: RegionCode::parse(COUNTY).expect("a county"),
        person_hash: format!("hash-{k}"),
        id_number_masked: "4212**********001*".to_owned(),
        name_masked: "张*".to_owned(),
        judged_group: TargetGroup::OtherEligible,
        prior_level: None,
        class_first_day: last_day - chrono::Days::new(30),
        class_last_day: last_day,
        class_filed_on: last_day - chrono::Days::new(40),
        class_completed: true,
        policy_version: PolicySet::current().version.clone(),
        policy_digest: String::new(),
        completed: true,
        plan_trainee: true,
        excluded_by: String::new(),
        prehire: false,
        prehire_enterprise: String::new(),
        occupation_code: "6-18-02-04".to_owned(),
        stamp: Stamp::new(),
    }
}

/// Writes `n` trainees, `per_project` to a project, and (when `people`) their sealed ID numbers.
pub async fn insert_trainees(
    service: &TestService,
    n: usize,
    per_project: usize,
    last_day: NaiveDate,
    people: bool,
) -> Vec<TraineeRecord> {
    let trainees: Vec<TraineeRecord> = (0..n).map(|k| trainee(k, per_project, last_day)).collect();
    for chunk in trainees.chunks(2_000) {
        let (mut tx, _turn) = service.db.begin_write().await.expect("a transaction");
        record::insert_many(&mut tx, chunk).await.expect("trainees");
        if people {
            let persons: Vec<ExchangePersonRecord> = chunk
                .iter()
                .map(|t| {
                    let k: usize = t.id[1..].parse().expect("a number");
                    let id = id_number(k);
                    ExchangePersonRecord {
                        trainee_id: t.id.clone(),
                        id_number_sealed: service.pii.encrypt(&id).expect("sealed"),
                        id_number_hash: service.pii.lookup_hash(&id),
                        update_time_micros: 0,
                    }
                })
                .collect();
            record::insert_many(&mut tx, &persons).await.expect("people");
        }
        tx.commit().await.expect("committed");
    }
    trainees
}

/// Milliseconds, one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Whether PostgreSQL is configured for the benchmarks.
pub fn postgres_configured() -> bool {
    std::env::var(qiancheng_testkit::POSTGRES_URL_VAR).is_ok_and(|u| !u.is_empty())
}

/// A count from the environment, or `default`.
pub fn scale(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
