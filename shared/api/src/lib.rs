//! The suite's protobuf contracts, generated at build time from `proto/` with `protox`.
//!
//! Each package of `proto/qiancheng/<service>/v1` is a module here, `qiancheng::<service>::v1`,
//! with its messages, its client and its server. [`FILE_DESCRIPTOR_SET`] feeds server reflection
//! so that `grpcurl` works against any service without the proto files at hand. [`convert`]
//! turns the shared protobuf types into domain values and back.

pub mod convert;

/// Every proto file of the suite, encoded as a `google.protobuf.FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/qiancheng_descriptor.bin"));

/// The `qiancheng.*` protobuf packages.
#[allow(missing_docs, clippy::all, missing_debug_implementations)]
pub mod qiancheng {
    /// Messages shared by every service.
    pub mod r#type {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.r#type.v1.rs"));
        }
    }
    /// The demand service.
    pub mod demand {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.demand.v1.rs"));
        }
    }
    /// The selection service.
    pub mod selection {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.selection.v1.rs"));
        }
    }
}

pub use qiancheng::demand::v1 as demand;
pub use qiancheng::selection::v1 as selection;
pub use qiancheng::r#type::v1 as types;
