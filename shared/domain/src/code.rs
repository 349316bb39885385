//! Values stored and exchanged by a stable name: a state (`DRAFT`), a county (`421221`), a
//! skill level (`LEVEL_4`), a training mode (`OFFLINE`). One trait says how, so that a database
//! column and a proto enum read and write every such value the same way, and nothing else
//! compares their strings.

/// A closed set of values, each with a stable code.
pub trait Code: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every value.
    fn all() -> &'static [Self];

    /// The stable code (`DRAFT`).
    fn code_of(self) -> &'static str;

    /// The value a stable code names; `None` for any other text.
    fn from_code(code: &str) -> Option<Self> {
        Self::all().iter().copied().find(|v| v.code_of() == code)
    }
}

impl<T: crate::lifecycle::Lifecycle> Code for T {
    fn all() -> &'static [Self] {
        T::ALL
    }
    fn code_of(self) -> &'static str {
        self.code()
    }
}

/// Implements [`Code`] for enums that have an `ALL` list and an inherent `code()`.
macro_rules! coded {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl Code for $ty {
                fn all() -> &'static [Self] {
                    &<$ty>::ALL
                }
                fn code_of(self) -> &'static str {
                    self.code()
                }
            }
        )+
    };
}

coded!(
    crate::RegionCode,
    crate::policy::integrity::Severity,
    crate::SkillLevel,
    crate::TargetGroup,
    crate::Industry,
    crate::policy::facts::LocalBasisKind,
);

impl Code for crate::policy::project::TrainingMode {
    fn all() -> &'static [Self] {
        use crate::policy::project::TrainingMode as M;
        &[M::Offline, M::Online, M::Mixed]
    }
    fn code_of(self) -> &'static str {
        self.code()
    }
}

/// Implements [`Code`] for an enum by listing each value with its code.
macro_rules! code_table {
    ($ty:ty { $($value:ident => $code:literal),+ $(,)? }) => {
        impl Code for $ty {
            fn all() -> &'static [Self] {
                &[$(<$ty>::$value),+]
            }
            fn code_of(self) -> &'static str {
                match self {
                    $(<$ty>::$value => $code),+
                }
            }
        }
    };
}

code_table!(crate::policy::provider::ProviderKind {
    University => "UNIVERSITY",
    VocationalSchool => "VOCATIONAL_SCHOOL",
    PrivateTrainingSchool => "PRIVATE_TRAINING_SCHOOL",
    EmployerCertifier => "EMPLOYER_CERTIFIER",
    IndustryAssociation => "INDUSTRY_ASSOCIATION",
    PublicTrainingInstitution => "PUBLIC_TRAINING_INSTITUTION",
    PublicTrainingBase => "PUBLIC_TRAINING_BASE",
    HighSkillTrainingBase => "HIGH_SKILL_TRAINING_BASE",
    MasterStudio => "MASTER_STUDIO",
    LabourBrandLeader => "LABOUR_BRAND_LEADER",
    ParkLeadingEnterprise => "PARK_LEADING_ENTERPRISE",
    Other => "OTHER",
});
code_table!(crate::policy::provider::Misconduct { Subcontracting => "SUBCONTRACTING", Fraud => "FRAUD" });
code_table!(crate::policy::set::QuotaMode { Strict => "STRICT", Fit => "FIT" });
code_table!(crate::policy::project::ProjectBasis {
    CertificateRate => "CERTIFICATE_RATE",
    EmploymentRate => "EMPLOYMENT_RATE",
    Mixed => "MIXED",
});
code_table!(crate::policy::facts::KeyProjectLibrary { City => "CITY", County => "COUNTY" });
code_table!(crate::policy::class::FindingSeverity { None => "NONE", Minor => "MINOR", Serious => "SERIOUS" });
code_table!(crate::policy::class::FindingKind {
    Subcontracting => "SUBCONTRACTING",
    Fraud => "FRAUD",
    Safety => "SAFETY",
    Attendance => "ATTENDANCE",
    Other => "OTHER",
});
code_table!(crate::policy::class::InspectionOutcome {
    Continue => "CONTINUE",
    Correct => "CORRECT",
    Stop => "STOP",
    StopAndDisqualify => "STOP_AND_DISQUALIFY",
});
code_table!(crate::policy::selection::SelectionMethod {
    Selection => "SELECTION",
    OpenChallenge => "OPEN_CHALLENGE",
    ExpertReview => "EXPERT_REVIEW",
    ComprehensiveEvaluation => "COMPREHENSIVE_EVALUATION",
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::ClassState;
    use crate::{RegionCode, SkillLevel};

    #[test]
    fn every_code_names_its_value_and_nothing_else() {
        for level in SkillLevel::all() {
            assert_eq!(SkillLevel::from_code(level.code_of()), Some(*level));
        }
        assert_eq!(RegionCode::from_code("421221"), Some(RegionCode::Jiayu));
        assert_eq!(RegionCode::from_code("嘉鱼县"), None, "a code, not a name");
        assert_eq!(ClassState::from_code("FILED"), Some(ClassState::Filed));
        assert_eq!(ClassState::from_code("filed"), None);
    }

    #[test]
    fn coded_enums_store_the_names_they_are_serialized_by() {
        use crate::policy::project::ProjectBasis;
        use crate::policy::provider::ProviderKind;
        use crate::policy::set::QuotaMode;
        fn serialized<T: serde::Serialize>(value: T) -> String {
            serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        }
        for kind in ProviderKind::all() {
            assert_eq!(kind.code_of(), serialized(kind), "{kind:?}");
        }
        for basis in ProjectBasis::all() {
            assert_eq!(basis.code_of(), serialized(basis), "{basis:?}");
        }
        for mode in QuotaMode::all() {
            assert_eq!((mode.code_of(), mode.code_of()), (serialized(mode).as_str(), mode.code()));
        }
    }
}
