//! Property: for any schema a document might hold, the body specmock builds from it (when the
//! document gives no example) validates against that schema, checked by the jsonschema crate
//! on its own, not by specmock's loader.

use proptest::prelude::*;
use serde_json::{json, Value};

const FORMATS: [&str; 9] = ["date-time", "date", "email", "uuid", "uri", "hostname", "ipv4", "ipv6", "byte"];
const PATTERNS: [&str; 5] =
    ["^[a-z]+$", "^[A-Z]{2}[0-9]{4}$", "^(0|[1-9][0-9]*)$", "^#([0-9a-f]{3}){1,2}$", "^[UW][A-Z0-9]{8,}$|^$"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        (proptest::option::of(0u64..4), proptest::option::of(4u64..12)).prop_map(|(min, max)| {
            let mut s = json!({"type": "string"});
            if let Some(min) = min {
                s["minLength"] = json!(min);
            }
            if let Some(max) = max {
                s["maxLength"] = json!(max);
            }
            s
        }),
        proptest::sample::select(FORMATS.to_vec()).prop_map(|f| json!({"type": "string", "format": f})),
        proptest::sample::select(PATTERNS.to_vec()).prop_map(|p| json!({"type": "string", "pattern": p})),
        (-50i64..50, 0i64..100, proptest::option::of(1i64..7), any::<bool>()).prop_map(
            |(min, span, step, exclusive)| {
                let mut s = json!({"type": "integer", "minimum": min, "maximum": min + span + 10});
                if exclusive {
                    s["exclusiveMinimum"] = json!(min);
                    s.as_object_mut().unwrap().remove("minimum");
                }
                if let Some(step) = step {
                    s["multipleOf"] = json!(step);
                }
                s
            }
        ),
        (-1000i64..1000).prop_map(|min| json!({"type": "number", "minimum": min as f64 / 10.0})),
        Just(json!({"type": "boolean"})),
        proptest::collection::vec("[a-z]{1,6}", 1..4).prop_map(|v| json!({"type": "string", "enum": v})),
        Just(json!({"const": "fixed"})),
        Just(json!({"type": ["string", "null"]})),
    ]
}

fn schema() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), 0u64..3, any::<bool>()).prop_map(|(items, min, unique)| {
                let mut s = json!({"type": "array", "items": items, "minItems": min});
                if unique && min > 1 {
                    s["items"] = json!({"type": "integer"});
                    s["uniqueItems"] = json!(true);
                }
                s
            }),
            proptest::collection::btree_map("[a-z]{1,5}", inner.clone(), 0..4).prop_flat_map(|props| {
                let names: Vec<String> = props.keys().cloned().collect();
                (Just(props), proptest::sample::subsequence(names.clone(), 0..=names.len()))
            }).prop_map(|(props, required)| json!({"type": "object", "properties": props, "required": required})),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| {
                json!({"allOf": [{"type": "object", "properties": {"a": a}, "required": ["a"]},
                                 {"type": "object", "properties": {"b": b}}]})
            }),
            // Branches of different kinds, as a discriminated oneOf would have.
            (inner.clone()).prop_map(|a| json!({"oneOf": [{"type": "object", "properties": {"kind": {"const": "a"}, "a": a}, "required": ["kind"]},
                                                        {"type": "object", "properties": {"kind": {"const": "b"}}, "required": ["kind"]}]})),
            (inner.clone(), inner).prop_map(|(a, b)| json!({"anyOf": [a, b]})),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_body_built_from_a_schema_validates_against_it(schema in schema()) {
        let document = json!({
            "openapi": "3.1.0",
            "info": {"title": "p", "version": "1"},
            "paths": {"/x": {"get": {"operationId": "x", "responses": {"200": {
                "description": "x", "content": {"application/json": {"schema": schema}}}}}}}
        });
        let api = specmock::Api::from_text("p", "p.json", &document.to_string()).unwrap();
        let body = specmock::internals::default_body(&api, 0).expect("a body is built");
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
        let errors: Vec<String> = validator.iter_errors(&body).map(|e| format!("{}: {e}", e.instance_path())).collect();
        prop_assert!(errors.is_empty(), "schema {schema}\nbody {body}\n{errors:?}");
        prop_assert!(api.warnings().is_empty(), "{:?}", api.warnings());
        let again = specmock::Api::from_text("p", "p.json", &document.to_string()).unwrap();
        prop_assert_eq!(specmock::internals::default_body(&again, 0), Some(body), "deterministic");
    }
}
