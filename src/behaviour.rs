//! The behaviour format: what an OpenAPI document cannot say, written as data next to the fixtures.
//!
//! `fixtures/<api>/behaviour.yaml` binds each operation to a fixture collection and to the API's
//! conventions: which parameter pages, which filter matches which field, the sort keys, the views,
//! the error envelope and the auth rules. Its JSON Schema (`fixtures/behaviour.schema.json`) is
//! generated from these types with schemars, so editors can check a file as it is written.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One API's behaviour file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Link to the generated JSON Schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The error body this API sends.
    pub errors: ErrorEnvelope,
    /// Who may call, and the tenant checks after request validation.
    #[serde(default)]
    pub auth: Option<AuthRules>,
    /// Literal URL prefixes in fixture data that stand for "this server": each is replaced, per
    /// request, with the request's scheme, host and the API's base path.
    #[serde(default)]
    pub href_placeholders: Vec<String>,
    /// The fixture collections this API reads.
    #[serde(default)]
    pub collections: Vec<CollectionDef>,
    /// Bindings by operationId. Operations left out answer from the spec's examples.
    #[serde(default)]
    pub operations: BTreeMap<String, Binding>,
}

/// The error body, as a template. String values may hold `{status}`, `{code}`, `{name}`,
/// `{message}` and `{requestId}`; a value that is exactly one placeholder takes its type.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorEnvelope {
    /// The body template.
    pub body: Value,
    /// `{name}` for each status, e.g. `404: NotFoundError`; `{code}` is the status unless `codes` says.
    #[serde(default)]
    pub names: BTreeMap<u16, String>,
    /// `{code}` for each status, where the API's codes differ from the status.
    #[serde(default)]
    pub codes: BTreeMap<u16, String>,
    /// JSON pointer of the field that carries the request id, refreshed in forced example bodies.
    #[serde(default)]
    pub request_id_field: Option<String>,
}

/// Authentication and authorisation rules.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthRules {
    /// The permission a caller's identity must hold.
    pub permission: String,
    /// A path parameter that names a tenant the caller must belong to.
    #[serde(default)]
    pub tenant: Option<TenantRule>,
    /// Messages for each refusal.
    pub messages: AuthMessages,
}

/// The tenant a request addresses, checked after request validation.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRule {
    /// The path parameter holding the tenant id.
    pub param: String,
    /// The collection of tenants.
    pub collection: String,
    /// JSON pointer of a boolean a tenant must have true to use this API (a licence).
    #[serde(default)]
    pub licence: Option<String>,
}

/// What each refusal says. `{tenant}` is replaced with the tenant id.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthMessages {
    /// No `Authorization: Bearer` header.
    pub missing_token: String,
    /// A token no identity holds.
    pub unknown_token: String,
    /// The tenant does not exist (404).
    #[serde(default)]
    pub unknown_tenant: Option<String>,
    /// The caller is not a member of the tenant (401).
    #[serde(default)]
    pub not_member: Option<String>,
    /// The caller lacks the permission (403).
    pub no_permission: String,
    /// The tenant lacks the licence (403).
    #[serde(default)]
    pub no_licence: Option<String>,
}

/// A named set of records loaded from one fixture file.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionDef {
    /// The collection's name, used by bindings.
    pub name: String,
    /// The file under `fixtures/<api>/`: `{"records": [...], "aliases": {...}}` or a bare array.
    pub file: String,
    /// JSON pointer of each record's unique key.
    pub key: String,
    /// The schema every record must satisfy: a component schema name of the spec, or an inline
    /// JSON Schema for collections the spec does not describe.
    pub schema: SchemaRef,
}

/// A component schema name, or an inline JSON Schema.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SchemaRef {
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
    pub collection: String,
    /// For single-record operations: the path parameter matched against keys and aliases.
    #[serde(default)]
    pub lookup: Option<String>,
    /// Parameters that narrow the records: values of one parameter OR, parameters AND.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Which parameters page the result.
    #[serde(default)]
    pub paging: Option<Paging>,
    /// Sorting: the order used when no sort is asked for, and the sort parameters.
    #[serde(default)]
    pub sort: Option<Sort>,
    /// Alternative shapes of a record chosen by a parameter (TMF `@type`).
    #[serde(default)]
    pub views: Option<Views>,
    /// Attribute selection (TMF630 `fields`).
    #[serde(default)]
    pub fields: Option<FieldSelection>,
    /// The body's shape.
    pub body: Body,
    /// The 404 message when `lookup` finds nothing; `{id}` is replaced with the id asked for.
    #[serde(default)]
    pub not_found: Option<String>,
}

/// A filter: a parameter's values matched against a record field.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The parameter, as the spec names it.
    pub param: String,
    /// JSON pointer of the record field; a `*` segment walks every element of an array.
    pub field: String,
    /// Read the field on another collection's record, found by this record's foreign key.
    #[serde(default)]
    pub via: Option<Join>,
}

/// A foreign key into another collection.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The other collection.
    pub collection: String,
    /// JSON pointer, on this record, of the other record's key.
    pub key: String,
}

/// The paging convention.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paging {
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
pub struct Sort {
    /// The parameter naming the sort key; each of its enum values must have a key here.
    #[serde(default)]
    pub field_param: Option<String>,
    /// The parameter naming the direction.
    #[serde(default)]
    pub direction_param: Option<String>,
    /// The direction parameter's value that means descending.
    #[serde(default)]
    pub descending: Option<String>,
    /// Sort keys by the value the field parameter takes.
    #[serde(default)]
    pub keys: BTreeMap<String, SortKey>,
    /// Always applied after the chosen key, ascending, whatever the direction; alone when none is chosen.
    pub tie_break: Vec<SortKey>,
}

/// One field to order by.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SortKey {
    /// JSON pointer of the field.
    pub field: String,
    /// How values compare.
    #[serde(default)]
    pub compare: Compare,
}

/// How sort values compare.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
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
pub struct Views {
    /// The parameter, as the spec names it; its default picks the default view.
    pub param: String,
    /// Other spellings of the parameter accepted on the wire (e.g. `type` for `@type`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The record field that names the view in the body (e.g. `@type`).
    #[serde(default)]
    pub type_field: Option<String>,
    /// Fill attributes a record leaves out with null, as Oracle serialises them.
    #[serde(default)]
    pub explicit_nulls: bool,
}

/// TMF630 attribute selection.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSelection {
    /// The parameter, as the spec names it.
    pub param: String,
    /// Attributes that always come back.
    pub always: Vec<String>,
    /// The value that selects only the `always` attributes.
    #[serde(default)]
    pub none: Option<String>,
}

/// The body's shape around the records.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// One record, found by `lookup`.
    Single {
        /// The view schema used when the binding has no `views`.
        #[serde(default)]
        schema: Option<String>,
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
    pub fn from_yaml(text: &str) -> Result<Behaviour, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// The JSON Schema of this format, as committed in `fixtures/behaviour.schema.json`.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Behaviour);
        serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
    }
}
