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

coded!(crate::RegionCode, crate::SkillLevel, crate::TargetGroup, crate::Industry, crate::policy::facts::LocalBasisKind,);

impl Code for crate::policy::project::TrainingMode {
    fn all() -> &'static [Self] {
        use crate::policy::project::TrainingMode as M;
        &[M::Offline, M::Online, M::Mixed]
    }
    fn code_of(self) -> &'static str {
        self.code()
    }
}

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
}
