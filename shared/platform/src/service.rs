//! What a service of the suite is to the binary, `dev`, `serve`, the health checks and the
//! testkit: a [`ServiceSpec`] (its name, migrations, the peers it calls and how it makes its
//! routes), and the [`Shared`] ground its handlers stand on (database, personal-data cipher,
//! policy set, peers). Every service is started, migrated and wired the same way.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use qiancheng_domain::policy::PolicySet;
use sqlx::migrate::Migrator;
use tonic::service::Routes;
use tonic::transport::Channel;

use crate::client::{ServiceCredentials, connect};
use crate::config::Settings;
use crate::db::Db;
use crate::error::Error;
use crate::pii::PiiCipher;
use crate::pii::SealedTable;
use crate::stream::StreamLimits;

/// A service of the suite, as the binary and the testkit start it.
pub trait ServiceSpec: Send + Sync + 'static {
    /// Short name: its SQLite file, its `serve` argument, its peer name (`demand`).
    fn name(&self) -> &'static str;
    /// The fully qualified gRPC service (`qiancheng.demand.v1.DemandService`).
    fn grpc_name(&self) -> &'static str;
    /// The service's own migrations (the platform's run first).
    fn migrator(&self) -> &'static Migrator;
    /// The short names of the services it calls.
    fn peers(&self) -> &'static [&'static str] {
        &[]
    }
    /// The tables holding its sealed personal data and lookup hashes, which
    /// `qiancheng reencrypt` moves to the newest data key ([`crate::rekey`]).
    fn sealed_tables(&self) -> &'static [SealedTable] {
        &[]
    }
    /// The service's routes over `shared`, with the configured message-size limits.
    fn routes(&self, shared: Shared, settings: &Settings) -> Routes;
}

/// Declares a service of the suite: the type its handlers receive (`$service`, a `Shared` behind
/// an `Arc`, dereferencing to it) and its `Spec` for the binary and the tests.
///
/// ```text
/// qiancheng_platform::service! {
///     /// The demand service over what its handlers share.
///     Demand { name: "demand", server: DemandServiceServer, migrator: MIGRATOR, peers: [], sealed: SEALED }
/// }
/// qiancheng_api::demand_service!(Demand, handlers);
/// ```
#[macro_export]
macro_rules! service {
    (
        $(#[$meta:meta])*
        $service:ident { name: $name:expr, server: $server:ident, migrator: $migrator:expr, peers: [$($peer:expr),* $(,)?] $(, sealed: $sealed:expr)? $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $service(::std::sync::Arc<$crate::Shared>);

        impl ::std::ops::Deref for $service {
            type Target = $crate::Shared;
            fn deref(&self) -> &$crate::Shared {
                &self.0
            }
        }

        $crate::spec! {
            /// The service as the binary and the tests start it.
            Spec {
                name: $name,
                server: $server<$service>,
                migrator: $migrator,
                peers: [$($peer),*]
                $(, sealed: $sealed)?
            }
            |shared, settings| $crate::routes_of!($server::new($service(::std::sync::Arc::new(shared))), settings)
        }
    };
}

/// Declares a service's `Spec` whose routes are built by the body (a service whose handlers
/// share more than [`Shared`]: a clock, options, a follower): its name, its server type for the
/// gRPC name, its migrations, the peers it calls and the tables that hold sealed personal data.
///
/// ```text
/// qiancheng_platform::spec! {
///     /// The supervision service as the binary starts it.
///     Spec { name: NAME, server: SupervisionServiceServer<Supervision>, migrator: MIGRATOR,
///            peers: ["selection"], sealed: [store::trainee::SEALED] }
///     |shared, settings| routes(shared, settings, Clock::system(), Options::default())
/// }
/// ```
#[macro_export]
macro_rules! spec {
    (
        $(#[$meta:meta])*
        $spec:ident {
            name: $name:expr,
            server: $server:ty,
            migrator: $migrator:expr,
            peers: [$($peer:expr),* $(,)?]
            $(, sealed: $sealed:expr)? $(,)?
        }
        |$shared:ident, $settings:ident| $routes:expr
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $spec;

        impl $crate::ServiceSpec for $spec {
            fn name(&self) -> &'static str {
                $name
            }
            fn grpc_name(&self) -> &'static str {
                <$server as ::tonic::server::NamedService>::NAME
            }
            fn migrator(&self) -> &'static ::sqlx::migrate::Migrator {
                &$migrator
            }
            fn peers(&self) -> &'static [&'static str] {
                &[$($peer),*]
            }
            $(
                fn sealed_tables(&self) -> &'static [$crate::rekey::SealedTable] {
                    &$sealed
                }
            )?
            fn routes(&self, $shared: $crate::Shared, $settings: &$crate::config::Settings) -> ::tonic::service::Routes {
                $routes
            }
        }
    };
}

/// Lets a service whose handlers share more than [`Shared`] (a struct with a `shared:
/// Arc<Shared>` field beside its clock or options) be used as the `Shared` it holds.
#[macro_export]
macro_rules! deref_shared {
    ($service:ty) => {
        impl ::std::ops::Deref for $service {
            type Target = $crate::Shared;
            fn deref(&self) -> &$crate::Shared {
                &self.shared
            }
        }
    };
}

/// The routes of a generated gRPC server (`XServiceServer::new(…)`), with the message-size limit
/// of `settings` both ways: every service's routes are made through this one place.
#[macro_export]
macro_rules! routes_of {
    ($server:expr, $settings:expr) => {
        ::tonic::service::Routes::new(
            $server
                .max_decoding_message_size($settings.max_message_bytes)
                .max_encoding_message_size($settings.max_message_bytes),
        )
    };
}

/// A variant of a service's spec for tests and benchmarks (another clock, other options, a peer
/// fed by the test): everything as `$base` declares it (name, migrations, peers, sealed tables),
/// its routes made by the closure-like body from `self`, the shared state and the settings.
///
/// ```text
/// qiancheng_platform::spec_variant!(SpecWithClock, Spec, |this, shared, settings| {
///     routes(shared, settings, this.0.clone(), Options::default())
/// });
/// ```
#[macro_export]
macro_rules! spec_variant {
    ($variant:ty, $base:expr, |$this:ident, $shared:ident, $settings:ident| $routes:expr) => {
        impl $crate::ServiceSpec for $variant {
            fn name(&self) -> &'static str {
                $crate::ServiceSpec::name(&$base)
            }
            fn grpc_name(&self) -> &'static str {
                $crate::ServiceSpec::grpc_name(&$base)
            }
            fn migrator(&self) -> &'static ::sqlx::migrate::Migrator {
                $crate::ServiceSpec::migrator(&$base)
            }
            fn peers(&self) -> &'static [&'static str] {
                $crate::ServiceSpec::peers(&$base)
            }
            fn sealed_tables(&self) -> &'static [$crate::rekey::SealedTable] {
                $crate::ServiceSpec::sealed_tables(&$base)
            }
            fn routes(
                &self,
                $shared: $crate::Shared,
                $settings: &$crate::config::Settings,
            ) -> ::tonic::service::Routes {
                let $this = self;
                $routes
            }
        }
    };
}

/// What every handler of a service shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The service's database.
    pub db: Db,
    /// Encrypts and hashes personal data.
    pub pii: PiiCipher,
    /// The policy set new decisions are made under; its version goes on every audit row.
    pub policy: Arc<PolicySet>,
    /// The services this one calls.
    pub peers: Peers,
    /// Limits on client streams.
    pub streams: StreamLimits,
}

/// A peer service: a channel, the identity calls are made with, and a deadline for each call.
#[derive(Debug, Clone)]
pub struct Peer {
    name: &'static str,
    channel: Channel,
    credentials: ServiceCredentials,
    deadline: Duration,
}

impl Peer {
    /// A peer called `name` at `url` (over TLS when it is `https://`, with the credentials' TLS
    /// settings), reached lazily, each call bounded by `deadline`.
    pub fn connect(
        name: &'static str,
        url: &str,
        credentials: ServiceCredentials,
        deadline: Duration,
    ) -> Result<Self, Error> {
        Ok(Self { name, channel: connect(url, deadline, credentials.tls())?, credentials, deadline })
    }

    /// A channel for a generated client that signs each call with a service token, sets the
    /// call's deadline (`grpc-timeout`), and traces it as a CLIENT span whose context the peer
    /// continues.
    pub fn channel(
        &self,
    ) -> tonic::service::interceptor::InterceptedService<
        crate::telemetry::rpc::Client<Channel>,
        impl tonic::service::Interceptor + Clone + use<>,
    > {
        let mut sign = self.credentials.interceptor();
        let deadline = self.deadline;
        tonic::service::interceptor::InterceptedService::new(
            tower::Layer::layer(&crate::telemetry::ClientLayer::new(self.name), self.channel.clone()),
            move |request: tonic::Request<()>| -> Result<tonic::Request<()>, tonic::Status> {
                let mut request = tonic::service::Interceptor::call(&mut sign, request)?;
                request.set_timeout(deadline);
                Ok(request)
            },
        )
    }

    /// The error for a status the peer answered with; its code is passed on (see
    /// [`crate::error`]).
    pub fn refused(&self, status: tonic::Status) -> Error {
        Error::Peer { service: self.name, status: Box::new(status) }
    }
}

/// The peers of a service, by short name.
#[derive(Debug, Clone, Default)]
pub struct Peers(BTreeMap<&'static str, Peer>);

impl Peers {
    /// Peers from a list.
    pub fn new(peers: impl IntoIterator<Item = Peer>) -> Self {
        Self(peers.into_iter().map(|p| (p.name, p)).collect())
    }

    /// The peer called `name`, or an `UNAVAILABLE` error naming the variable that configures it.
    pub fn get(&self, name: &'static str) -> Result<&Peer, Error> {
        self.0.get(name).ok_or_else(|| Error::Peer {
            service: name,
            status: Box::new(tonic::Status::unavailable(format!(
                "the {name} service is not configured ({})",
                Settings::peer_variable(name)
            ))),
        })
    }
}
