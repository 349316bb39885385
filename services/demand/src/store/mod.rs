//! The demand service's storage: one module per resource, each with its record type, its
//! columns, row decoding and queries. Handlers call these with the transaction they run in (or
//! the pool, for reads); nothing here decides a rule or checks access.

pub mod enterprise;
pub mod vacancy;
pub mod worker_need;
