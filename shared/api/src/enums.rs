//! Every coded domain enum of the shared crates paired with its proto enum, once (see
//! [`crate::proto_enum`]): `value.into_proto()` and `Type::from_proto(number)` wherever a service
//! shows or reads one. A service pairs its own enums the same way, beside them.

use qiancheng_domain::lifecycle::{
    ApplicationState, CatalogItemState, ClassState, RosterChangeState, RoundState, TraineeState, VacancyState,
};
use qiancheng_domain::policy::QuotaMode;
use qiancheng_domain::policy::class::{FindingKind, FindingSeverity, InspectionOutcome};
use qiancheng_domain::policy::facts::{KeyProjectLibrary, LocalBasisKind};
use qiancheng_domain::policy::integrity::Severity as SignalSeverity;
use qiancheng_domain::policy::project::{ProjectBasis, TrainingMode};
use qiancheng_domain::policy::provider::{Misconduct, ProviderKind};
use qiancheng_domain::policy::selection::SelectionMethod;
use qiancheng_domain::{Industry, SkillLevel, TargetGroup};

use crate::{demand, selection, supervision, types};

crate::proto_enum!(SkillLevel => types::SkillLevel, "SKILL_", "SKILL-LEVEL", "a skill level");
crate::proto_enum!(TargetGroup => types::TargetGroup, "TARGET_GROUP_", "ELIG-GROUP", "a target group");
crate::proto_enum!(Industry => types::Industry, "INDUSTRY_", "INDUSTRY", "an industry");
crate::proto_enum!(TrainingMode => types::TrainingMode, "TRAINING_MODE_", "PROJ-CATALOG", "a training mode");
crate::proto_enum!(VacancyState => demand::VacancyState, "VACANCY_STATE_", "VACANCY-STATE", "a vacancy state");
crate::proto_enum!(CatalogItemState => selection::CatalogItemState, "CATALOG_ITEM_STATE_", "PROJ-CATALOG", "a catalog item state");
crate::proto_enum!(RoundState => selection::RoundState, "ROUND_STATE_", "PROJ-SELECTION", "a round state");
crate::proto_enum!(ApplicationState => selection::ApplicationState, "APPLICATION_STATE_", "PROJ-PLAN", "an application state");
crate::proto_enum!(ClassState => supervision::ClassState, "CLASS_STATE_", "CLASS_STATE", "a class state");
crate::proto_enum!(TraineeState => supervision::TraineeState, "TRAINEE_STATE_", "TRAINEE_STATE", "a trainee state");
crate::proto_enum!(RosterChangeState => supervision::RosterChangeState, "ROSTER_CHANGE_STATE_", "ROSTER_CHANGE_STATE", "a roster change state");
crate::proto_enum!(LocalBasisKind => supervision::LocalBasis, "LOCAL_BASIS_", "ELIG-LOCAL", "a local basis");
crate::proto_enum!(ProviderKind => selection::ProviderKind, "PROVIDER_KIND_", "PROV-KIND", "the kind of provider");
crate::proto_enum!(Misconduct => selection::MisconductKind, "MISCONDUCT_KIND_", "PROV-DISQUALIFIED", "a misconduct");
crate::proto_enum!(QuotaMode => selection::QuotaMode, "QUOTA_MODE_", "PROJ-SELECTION", "a quota mode");
crate::proto_enum!(SelectionMethod => selection::SelectionMethod, "SELECTION_METHOD_", "PROJ-SELECTION", "a selection method");
crate::proto_enum!(ProjectBasis => selection::EvaluationBasis, "EVALUATION_BASIS_", "PROJ-BASIS", "an evaluation basis");

#[cfg(test)]
mod tests {
    use qiancheng_domain::Code;

    use crate::convert::{FromProto, IntoProto};

    use super::*;

    fn round_trips<D>()
    where
        D: Code + IntoProto<i32> + FromProto<i32>,
    {
        for value in D::all() {
            let number: i32 = (*value).into_proto();
            assert_ne!(number, 0, "{value:?} has a proto value");
            assert_eq!(D::from_proto(number).expect("a value"), Some(*value));
        }
        assert_eq!(D::from_proto(0).expect("zero"), None);
        assert!(D::from_proto(9_999).is_err());
        assert!(D::required(0).is_err());
    }

    #[test]
    fn every_paired_enum_round_trips_through_its_proto_enum() {
        round_trips::<SkillLevel>();
        round_trips::<TargetGroup>();
        round_trips::<Industry>();
        round_trips::<TrainingMode>();
        round_trips::<VacancyState>();
        round_trips::<CatalogItemState>();
        round_trips::<RoundState>();
        round_trips::<ApplicationState>();
        round_trips::<ClassState>();
        round_trips::<TraineeState>();
        round_trips::<RosterChangeState>();
        round_trips::<LocalBasisKind>();
        round_trips::<ProviderKind>();
        round_trips::<Misconduct>();
        round_trips::<QuotaMode>();
        round_trips::<SelectionMethod>();
    }

    #[test]
    fn a_project_is_shown_by_its_rate_and_a_mixed_basis_by_none() {
        let shown = |basis: ProjectBasis| -> i32 { basis.into_proto() };
        assert_eq!(shown(ProjectBasis::CertificateRate), selection::EvaluationBasis::CertificateRate as i32);
        assert_eq!(shown(ProjectBasis::EmploymentRate), selection::EvaluationBasis::EmploymentRate as i32);
        assert_eq!(shown(ProjectBasis::Mixed), 0, "projects are judged by one rate; only trainees are mixed");
        assert_eq!(ProjectBasis::from_proto(2).expect("a basis"), Some(ProjectBasis::CertificateRate));
    }
}
crate::proto_enum!(FindingSeverity => supervision::FindingSeverity, "FINDING_SEVERITY_", "CLASS-INSPECTION", "a finding severity");
crate::proto_enum!(FindingKind => supervision::FindingKind, "FINDING_KIND_", "CLASS-INSPECTION", "a finding");
crate::proto_enum!(InspectionOutcome => supervision::InspectionOutcome, "INSPECTION_OUTCOME_", "CLASS-INSPECTION", "an inspection outcome");
crate::proto_enum!(KeyProjectLibrary => supervision::KeyProjectLibrary, "KEY_PROJECT_LIBRARY_", "ELIG-PREHIRE", "a key-project library");
crate::proto_enum!(SignalSeverity => supervision::SignalSeverity, "SIGNAL_SEVERITY_", "ENUM", "a signal severity");
