//! The subsidy service's storage: one module per resource, each with its record type and the
//! queries the platform's record functions do not already give. Nothing here decides a rule or
//! checks access.

pub mod claim;
pub mod feed;
pub mod money;
pub mod objection;
pub mod reexamination;
pub mod standard;
pub mod uplift;
