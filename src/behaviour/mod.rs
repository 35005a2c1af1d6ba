//! The behaviour format: what an OpenAPI document cannot say, written as data next to the fixtures.
//!
//! `fixtures/<api>/behaviour.yaml` binds each operation to a fixture collection and to the API's
//! conventions: which parameter pages, which filter matches which field, the sort keys, the views,
//! the error envelope and the auth rules. Its JSON Schema (`fixtures/behaviour.schema.json`) is
//! generated from these types with schemars, so editors can check a file as it is written.

mod envelope;
pub(crate) mod identities;
pub(crate) mod writes;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use envelope::Envelope;

/// One API's behaviour file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Link to the generated JSON Schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<String>,
    /// The error body this API sends.
    pub(crate) errors: ErrorEnvelope,
    /// Who may call, and the tenant checks after request validation.
    #[serde(default)]
    pub(crate) auth: Option<AuthRules>,
    /// Literal URL prefixes in fixture data that stand for "this server": each is replaced, per
    /// request, with the request's scheme, host and the API's base path.
    #[serde(default)]
    pub(crate) href_placeholders: Vec<String>,
    /// The fixture collections this API reads.
    #[serde(default)]
    pub(crate) collections: Vec<CollectionDef>,
    /// Bindings by operationId. Operations left out answer from the spec's examples.
    #[serde(default)]
    pub(crate) operations: BTreeMap<String, Binding>,
    /// Writes by operationId: what a create or change stores, and its effects on other records.
    #[serde(default)]
    pub(crate) writes: BTreeMap<String, writes::Write>,
}

/// The error body, as a template. String values may hold `{status}`, `{code}`, `{name}`,
/// `{message}` and `{requestId}`; a value that is exactly one placeholder takes its type.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorEnvelope {
    /// The body template.
    pub(crate) body: Value,
    /// `{name}` for each status, e.g. `404: NotFoundError`; `{code}` is the status unless `codes` says.
    #[serde(default)]
    pub(crate) names: BTreeMap<u16, String>,
    /// `{code}` for each status, where the API's codes differ from the status.
    #[serde(default)]
    pub(crate) codes: BTreeMap<u16, String>,
    /// JSON pointer of the field that carries the request id, refreshed in forced example bodies.
    #[serde(default)]
    pub(crate) request_id_field: Option<String>,
}

/// Authentication and authorisation rules.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthRules {
    /// The permission a caller's identity must hold.
    pub(crate) permission: String,
    /// The permission a write (an operation under `writes`) needs instead.
    #[serde(default)]
    pub(crate) write_permission: Option<String>,
    /// A path parameter that names a tenant the caller must belong to.
    #[serde(default)]
    pub(crate) tenant: Option<TenantRule>,
    /// Messages for each refusal.
    pub(crate) messages: AuthMessages,
}

/// The tenant a request addresses, checked after request validation.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantRule {
    /// The path parameter holding the tenant id.
    pub(crate) param: String,
    /// The collection of tenants.
    pub(crate) collection: String,
    /// JSON pointer of a boolean a tenant must have true to use this API (a licence).
    #[serde(default)]
    pub(crate) licence: Option<String>,
}

/// What each refusal says. `{tenant}` is replaced with the tenant id.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthMessages {
    /// No `Authorization: Bearer` header.
    pub(crate) missing_token: String,
    /// A token no identity holds.
    pub(crate) unknown_token: String,
    /// The tenant does not exist (404).
    #[serde(default)]
    pub(crate) unknown_tenant: Option<String>,
    /// The caller is not a member of the tenant (401).
    #[serde(default)]
    pub(crate) not_member: Option<String>,
    /// The caller lacks the permission (403).
    pub(crate) no_permission: String,
    /// The caller lacks the write permission (403).
    #[serde(default)]
    pub(crate) no_write_permission: Option<String>,
    /// The tenant lacks the licence (403).
    #[serde(default)]
    pub(crate) no_licence: Option<String>,
}

/// A named set of records loaded from one fixture file.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CollectionDef {
    /// The collection's name, used by bindings.
    pub(crate) name: String,
    /// The file under `fixtures/<api>/`: `{"records": [...], "aliases": {...}}` or a bare array.
    pub(crate) file: String,
    /// JSON pointer of each record's unique key.
    pub(crate) key: String,
    /// The schema every record must satisfy: a component schema name of the spec, or an inline
    /// JSON Schema for collections the spec does not describe.
    pub(crate) schema: SchemaRef,
}

/// A component schema name, or an inline JSON Schema.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum SchemaRef {
    /// `components.schemas.<name>` of the API's spec.
    Component(String),
    /// A JSON Schema written in place.
    Inline(serde_json::Map<String, Value>),
}

/// How one operation answers from the store.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// The collection the operation reads.
    pub(crate) collection: String,
    /// For single-record operations: the path parameter matched against keys and aliases.
    #[serde(default)]
    pub(crate) lookup: Option<String>,
    /// Parameters that narrow the records: values of one parameter OR, parameters AND.
    #[serde(default)]
    pub(crate) filters: Vec<Filter>,
    /// Which parameters page the result.
    #[serde(default)]
    pub(crate) paging: Option<Paging>,
    /// Sorting: the order used when no sort is asked for, and the sort parameters.
    #[serde(default)]
    pub(crate) sort: Option<Sort>,
    /// Alternative shapes of a record chosen by a parameter (TMF `@type`).
    #[serde(default)]
    pub(crate) views: Option<Views>,
    /// Attribute selection (TMF630 `fields`).
    #[serde(default)]
    pub(crate) fields: Option<FieldSelection>,
    /// The body's shape.
    pub(crate) body: Body,
    /// The 404 message when `lookup` finds nothing; `{id}` is replaced with the id asked for.
    #[serde(default)]
    pub(crate) not_found: Option<String>,
}

/// A filter: a parameter's values matched against a record field.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filter {
    /// The parameter, as the spec names it.
    pub(crate) param: String,
    /// JSON pointer of the record field; a `*` segment walks every element of an array.
    pub(crate) field: String,
    /// Read the field on another collection's record, found by this record's foreign key.
    #[serde(default)]
    pub(crate) via: Option<Join>,
}

/// A foreign key into another collection.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Join {
    /// The other collection.
    pub(crate) collection: String,
    /// JSON pointer, on this record, of the other record's key.
    pub(crate) key: String,
}

/// The paging convention.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Paging {
    /// Zero-based page numbers: skip `size * page` records.
    PageNumber {
        /// The page-number parameter.
        page: String,
        /// The page-size parameter; its default and maximum come from the spec.
        size: String,
    },
    /// Offset and limit, with count headers.
    Offset {
        /// The offset parameter.
        offset: String,
        /// The limit parameter; its default and maximum come from the spec.
        limit: String,
        /// Header carrying the number of matching records.
        #[serde(default)]
        total_header: Option<String>,
        /// Header carrying the number of records in this page.
        #[serde(default)]
        result_header: Option<String>,
    },
}

/// Sort keys and the tie-break.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sort {
    /// The parameter naming the sort key; each of its enum values must have a key here.
    #[serde(default)]
    pub(crate) field_param: Option<String>,
    /// The parameter naming the direction.
    #[serde(default)]
    pub(crate) direction_param: Option<String>,
    /// The direction parameter's value that means descending.
    #[serde(default)]
    pub(crate) descending: Option<String>,
    /// Sort keys by the value the field parameter takes.
    #[serde(default)]
    pub(crate) keys: BTreeMap<String, SortKey>,
    /// Always applied after the chosen key, ascending, whatever the direction; alone when none is chosen.
    pub(crate) tie_break: Vec<SortKey>,
}

/// One field to order by.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SortKey {
    /// JSON pointer of the field.
    pub(crate) field: String,
    /// How values compare.
    #[serde(default)]
    pub(crate) compare: Compare,
}

/// How sort values compare.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Compare {
    /// Byte-wise text.
    #[default]
    Text,
    /// Decimal numbers written as strings or numbers: "900" before "10000".
    Decimal,
    /// RFC 3339 instants, compared as points in time.
    Timestamp,
}

/// Record shapes chosen by a parameter; each view is a component schema of the spec.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Views {
    /// The parameter, as the spec names it; its default picks the default view.
    pub(crate) param: String,
    /// Other spellings of the parameter accepted on the wire (e.g. `type` for `@type`).
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    /// The record field that names the view in the body (e.g. `@type`).
    #[serde(default)]
    pub(crate) type_field: Option<String>,
    /// Fill attributes a record leaves out with null, as Oracle serialises them.
    #[serde(default)]
    pub(crate) explicit_nulls: bool,
}

/// TMF630 attribute selection.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldSelection {
    /// The parameter, as the spec names it.
    pub(crate) param: String,
    /// Attributes that always come back.
    pub(crate) always: Vec<String>,
    /// The value that selects only the `always` attributes.
    #[serde(default)]
    pub(crate) none: Option<String>,
}

/// The body's shape around the records.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Body {
    /// One record, found by `lookup`.
    Single {
        /// The view schema used when the binding has no `views`.
        #[serde(default)]
        schema: Option<String>,
        /// The property holding the record (BitGo's `{"allocation": ...}`); absent for the bare record.
        #[serde(default)]
        property: Option<String>,
    },
    /// A JSON array of records, or an object holding it under `property`.
    List {
        /// The property holding the array; absent for a bare array.
        #[serde(default)]
        property: Option<String>,
        /// Component schema each record is shown as (its properties only).
        #[serde(default)]
        schema: Option<String>,
    },
    /// An object keyed by each record's key, under `property`.
    Map {
        /// The property holding the map.
        property: String,
        /// Component schema each record is shown as (its properties only).
        #[serde(default)]
        schema: Option<String>,
        /// Extra body properties copied from the tenant record: body property -> JSON pointer.
        #[serde(default)]
        from_tenant: BTreeMap<String, String>,
    },
}

impl Behaviour {
    /// Parses a behaviour file's YAML.
    pub(crate) fn from_yaml(text: &str) -> Result<Behaviour, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// The JSON Schema of this format, as committed in `fixtures/behaviour.schema.json`.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Behaviour);
        serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
    }
}
