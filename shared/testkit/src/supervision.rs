//! Classes and people for supervision, as the tests and benches that drive the suite from outside
//! file them: a class of a project on dates from today (the service runs on the real clock there),
//! and people who are each someone new.

use chrono::{Days, NaiveDate};
use qiancheng_api::supervision::{Class, LocalBasis, Teacher, TraineeInput};
use qiancheng_api::types::TrainingMode;

use crate::fixtures;

/// A class of `project` titled `title`, `days` long from `first_day`: 40 theory and 60 practice
/// hours (a project of 100 hours), offline, a venue and a teacher.
pub fn class(project: &str, title: &str, first_day: NaiveDate, days: u64) -> Class {
    Class {
        project: project.into(),
        title: title.into(),
        first_day: Some(qiancheng_api::convert::date_to_proto(first_day)),
        last_day: Some(qiancheng_api::convert::date_to_proto(first_day + Days::new(days))),
        theory_hours: 40,
        practice_hours: 60,
        mode: TrainingMode::Offline as i32,
        venue: "嘉鱼县实训基地".into(),
        teachers: vec![Teacher { name: "王师傅".into(), qualification: "焊工一级/高级技师".into() }],
        ..Default::default()
    }
}

/// Person `n`, a 咸宁 household-registered rural migrant worker born on a day of the 1980s (900
/// people a day): every `n` below three million is a different person.
pub fn person(n: u64) -> TraineeInput {
    let birth = NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date") + Days::new(n / 900);
    TraineeInput {
        person_name: format!("学员{n}"),
        id_number: fixtures::id_number(&format!("421202{}{:03}", birth.format("%Y%m%d"), 100 + n % 900)),
        phone: format!("138{:08}", n % 100_000_000),
        target_group: qiancheng_api::types::TargetGroup::RuralMigrant as i32,
        local_basis: LocalBasis::HouseholdRegistration as i32,
        local_basis_evidence: "户口簿".into(),
        ..Default::default()
    }
}
