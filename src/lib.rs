//! specmock: a mock and contract-test server driven by OpenAPI.
//!
//! The bundled APIs (BitGo Go Network OES partner, Oracle BRM prepay balance TMF654) are served
//! from `spec/` and `fixtures/`, compiled into the binary. See [`MockServer`] to embed it in tests.

pub mod admin;
pub mod answer;
pub mod auth;
pub mod behaviour;
pub mod client;
pub mod conformance;
pub mod edge;
pub mod envelope;
pub mod fixture_file;
pub mod mock_server;
pub mod params;
pub mod query;
pub mod render;
pub mod runtime;
pub mod scenario;
pub mod schema;
pub mod server;
pub mod snapshot;
pub mod spec;
pub mod store;
pub mod verify;

pub use mock_server::MockServer;
pub mod generate;
pub mod journal;
