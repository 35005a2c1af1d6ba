//! Pins the body of every operation's success response and of every error status it declares.

mod common;

use common::*;
use specmock::internals::Location;

#[tokio::test]
async fn every_operation_and_declared_status_has_a_pinned_body() {
    let root = env!("CARGO_MANIFEST_DIR");
    let apis = ["oes-partners", "prepay-balance"]
        .map(|name| specmock::Api::from_file(format!("{root}/spec/{name}.yaml")).unwrap());
    let mut pinned = 0;
    for api in &apis {
        for op in api.operations() {
            let mut path = op.route.clone();
            for p in op.params.iter().filter(|p| p.location == Location::Path) {
                let value = specmock::internals::text_of(p.example.as_ref().expect("path parameters carry an example"));
                path = path.replace(&format!("{{{}}}", p.name), &value);
            }
            let small: Vec<&str> = ["pageSize=2", "limit=2"]
                .into_iter()
                .filter(|q| op.param(q.split('=').next().unwrap()).is_some())
                .collect();
            let uri = format!("{path}?{}", small.join("&"));
            for &status in op.responses.keys() {
                let reply = if status < 300 {
                    get(&uri).await
                } else {
                    send("GET", &uri, &[("authorization", "Bearer demo-token"), ("prefer", &format!("code={status}"))])
                        .await
                };
                assert_eq!(reply.status, status, "{} {uri}", op.id);
                let name = format!("shape_{}_{}", op.id, status);
                common::snapshots().bind(|| insta::assert_json_snapshot!(name, reply.body));
                pinned += 1;
            }
        }
    }
    assert_eq!(pinned, 2 * 6 + 6 * 8, "two OES operations with 6 statuses, six BRM ones with 8");
}
