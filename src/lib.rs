//! specmock: a mock and contract-test server driven by OpenAPI.
//!
//! It bundles two balance APIs, BitGo Go Network's OES partner API and Oracle BRM's Prepay
//! Balance Management API (TM Forum TMF654), served from `spec/` and `fixtures/` compiled into
//! the binary, and serves any team's own OpenAPI document the same way.
//!
//! # Mock a service in a test
//!
//! [`MockServer`] starts the bundled APIs on a free port, strict: a response that breaks the
//! spec becomes a 500 that says why. It stops when dropped.
//!
//! ```no_run
//! # async fn demo() {
//! use specmock::MockServer;
//!
//! let server = MockServer::start().await;
//! let url = format!("{}/brm/prepayBalanceManagement/v4/bucket?limit=5", server.uri());
//! let reply = reqwest::Client::new().get(url).bearer_auth("demo-token").send().await.unwrap();
//! assert_eq!(reply.status(), 200);
//!
//! let seen = server.received_requests();
//! assert_eq!(seen[0].operation.as_deref(), Some("listBucket"));
//! # }
//! ```
//!
//! Your own document, with or without fixtures, is one builder call away:
//!
//! ```no_run
//! # async fn demo() {
//! let server = specmock::MockServer::builder().spec("openapi.yaml").fixtures("fixtures/").start().await;
//! # }
//! ```
//!
//! # Call it through a typed client
//!
//! [`client`] holds the progenitor clients generated from the bundled specs at build time:
//!
//! ```no_run
//! # async fn demo() {
//! use specmock::client::prepay_balance::Client;
//!
//! let server = specmock::MockServer::start().await;
//! let brm = Client::new(&format!("{}/brm/prepayBalanceManagement/v4", server.uri()));
//! # }
//! ```
//!
//! # Verify a real provider
//!
//! [`verify::run`] sends every operation of a spec to a provider and checks each response's
//! status, content type, headers and body against it (operations that change data only with
//! `writes`):
//!
//! ```no_run
//! # async fn demo() -> Result<(), specmock::LoadError> {
//! let spec = specmock::Api::from_file("spec/oes-partners.yaml")?;
//! let config = specmock::verify::Config {
//!     base_url: "https://staging.example.com".into(),
//!     token: Some("secret".into()),
//!     negative: true,
//!     writes: false,
//! };
//! let report = specmock::verify::run(&spec, &config).await;
//! assert!(report.passed(), "{}", report.text());
//! # Ok(())
//! # }
//! ```

mod app;
mod behaviour;
mod bundled;
pub mod client;
mod contract;
mod error;
mod generate;
mod http;
mod json;
mod load;
mod openapi;
mod state;
mod store;

#[doc(hidden)]
pub mod cli;

pub use app::{Forced, KeptBody, KeptHeaders, MockServer, MockServerBuilder, ReceivedRequest, Session, StartError};
pub use contract::Finding;
pub use error::LoadError;
pub use http::switches::Switch;
pub use openapi::Api;

/// Contract-testing a real provider against a spec: `specmock verify` as a library.
pub mod verify {
    pub use crate::contract::verify::{run, Check, Config, Outcome, Report};
}

/// Internals the benchmarks and the test suite reach into; not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::behaviour::identities::identities_json_schema;
    pub use crate::behaviour::{Behaviour, Binding};
    pub use crate::generate::{generate, write, FixtureFile, Gen, APIS};
    pub use crate::json::text_of;
    pub use crate::openapi::params::ParamValues;
    pub use crate::openapi::{Location, Operation, Param, ResponseSpec};
    pub use crate::store::query::{Query, QueryBuilder};
    pub use crate::store::select::select_members;
    pub use crate::store::{Collection, Store};

    /// What a response breaks of its operation, as strict mode and `specmock verify` check it:
    /// the status declared, the content type, the headers and the body's schema.
    pub fn check_response(op: &Operation, status: u16, headers: &http::HeaderMap, body: &[u8]) -> Vec<crate::Finding> {
        crate::contract::conformance::check(op, status, headers, body)
    }

    /// The body an operation's success response serves by default: its example, or the one
    /// built from its schema.
    pub fn default_body(api: &crate::Api, operation: usize) -> Option<serde_json::Value> {
        api.operations.get(operation)?.success()?.content.first()?.body.clone()
    }

    /// Whether each API the server loaded read its store from the cache, in load order.
    pub fn loaded_from_cache(server: &crate::MockServer) -> Vec<bool> {
        server.app.apis().iter().map(|api| api.from_cache).collect()
    }
}
