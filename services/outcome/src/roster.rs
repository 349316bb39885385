//! What outcome reads of a project's roster from supervision (and of the project from selection),
//! shared by the follower that reads it and the exchange that asks departments about its people.

use qiancheng_api::supervision::ProjectTrainee;
use qiancheng_domain::RegionCode;

/// A project's roster as the outcome service needs it.
#[derive(Debug, Clone)]
pub struct Roster {
    /// `projects/{id}`.
    pub project: String,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// The training county.
    pub region: RegionCode,
    /// Every person ever on the roster of a class of the project.
    pub trainees: Vec<ProjectTrainee>,
}
