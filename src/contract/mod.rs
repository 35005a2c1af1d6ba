//! Contract checks: a response against its operation ([`conformance`]), and `specmock verify`,
//! which runs those checks against a real provider ([`verify`]).

pub(crate) mod conformance;
pub(crate) mod verify;

use crate::openapi::schema::Violation;

/// One way a response broke its operation's contract, located by JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// JSON pointer into the response body; empty when the finding is about the status or headers.
    pub pointer: String,
    /// The spec rule that failed, e.g. `#/components/schemas/Allocation/required`.
    pub rule: String,
    /// What was wrong.
    pub message: String,
}

impl Finding {
    pub(crate) fn new(pointer: &str, rule: String, message: String) -> Finding {
        Finding { pointer: pointer.to_string(), rule, message }
    }
}

impl From<Violation> for Finding {
    fn from(v: Violation) -> Finding {
        Finding { pointer: v.pointer, rule: v.rule, message: v.message }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "at {at}: {} (rule {})", self.message, self.rule)
    }
}
