//! Why specs, behaviour files or fixtures could not be loaded: each variant keeps the file and,
//! where there is one, the JSON pointer of the fault. A refused load stops startup, or a reload
//! keeps serving the last good state.

/// A load failure: which file, where in it, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("{file}: {message}")]
    Read {
        /// The file, as the user named it.
        file: String,
        /// What the operating system said.
        message: String,
    },
    /// An OpenAPI document that cannot be served.
    #[error("{file}: {message}")]
    Spec {
        /// The document.
        file: String,
        /// What is wrong, starting with its JSON pointer where there is one.
        message: String,
    },
    /// A behaviour file that breaks its format or disagrees with its spec.
    #[error("{file}: at {pointer}: {message}")]
    Behaviour {
        /// The behaviour file.
        file: String,
        /// Where in it, e.g. `/operations/listThings/sort`.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// A fixture or identities file that is not in its format.
    #[error("{file}: {message}")]
    Fixture {
        /// The fixture file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A fixture record that breaks its schema.
    #[error("{file}: record {record} breaks schema {schema}: at {pointer}: {message} (rule {rule})")]
    Record {
        /// The fixture file.
        file: String,
        /// The record's position in the file, from 0.
        record: usize,
        /// The schema it must satisfy.
        schema: String,
        /// The JSON pointer of the fault within the file, e.g. `/records/1/oesLicensed`.
        pointer: String,
        /// What the schema says is wrong.
        message: String,
        /// The schema rule that failed.
        rule: String,
    },
}
