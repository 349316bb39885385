//! The domain of Qiancheng (技能照亮前程): the value types of 咸人社发〔2025〕5号 and its policy core.
//!
//! Value types are parsed once at the edge ([`IdNumber`], [`Uscc`], [`RegionCode`],
//! [`OccupationCode`], [`SkillLevel`], [`TargetGroup`], [`Industry`], [`PhoneNumber`], [`Money`],
//! civil dates) and code behind the edge never re-checks strings. The [`policy`] module holds
//! every rule of the plan (docs/RULES.md) as a pure function over facts and a versioned [`policy::PolicySet`]
//! (`xianning-2025-5/v2` for new decisions, `xianning-2025-5/v1` kept for replay), returning
//! decisions that explain themselves rule by rule. Nothing here does I/O.

mod code;
mod date;
mod error;
mod group;
mod id_number;
mod money;
mod occupation;
mod phone;
mod region;
mod skill;
mod uscc;

pub mod demand;
pub mod lifecycle;
pub mod policy;

pub use code::Code;
pub use date::{add_months, china_micros, day_in_china, in_window, parse_date, today_in_china};
pub use error::{Error, ValueError, quote};
pub use group::{Industry, TargetGroup};
pub use id_number::{IdNumber, Sex};
pub use money::Money;
pub use occupation::OccupationCode;
pub use phone::PhoneNumber;
pub use region::RegionCode;
pub use skill::SkillLevel;
pub use uscc::Uscc;
