pub mod client;
pub mod schema;
pub mod spec;
