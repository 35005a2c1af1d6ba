//! Pins the body of every operation's success response and of every error status it declares.

mod common;

use common::*;
use specmock::internals::Location;

#[tokio::test]
async fn every_operation_and_declared_status_has_a_pinned_body() {
    let root = env!("CARGO_MANIFEST_DIR");
    let apis = ["oes-partners", "prepay-balance"]
        .map(|name| specmock::Api::from_file(format!("{root}/spec/{name}.yaml")).unwrap());
    let documents = ["oes-partners", "prepay-balance"].map(|name| {
        let text = std::fs::read_to_string(format!("{root}/spec/{name}.yaml")).unwrap();
        serde_saphyr::from_str::<serde_json::Value>(&text).unwrap()
    });
    // Writes first, in one session, so the reads after them show what they made.
    let mut ops: Vec<(usize, &specmock::internals::Operation)> =
        apis.iter().enumerate().flat_map(|(i, api)| api.operations().iter().map(move |op| (i, op))).collect();
    ops.sort_by_key(|(_, op)| op.method == "GET");
    let mut pinned = 0;
    for (doc, op) in ops {
        let mut path = op.route.clone();
        for p in op.params.iter().filter(|p| p.location == Location::Path) {
            let value = specmock::internals::text_of(p.example.as_ref().expect("path parameters carry an example"));
            path = path.replace(&format!("{{{}}}", p.name), &value.replace('+', "%2B"));
        }
        let small: Vec<&str> = ["pageSize=2", "limit=2"]
            .into_iter()
            .filter(|q| op.param(q.split('=').next().unwrap()).is_some())
            .collect();
        let uri = format!("{path}?{}", small.join("&"));
        // The documented example body of a write.
        let body = documents[doc]["paths"][op.path.as_str()][op.method.to_lowercase()]["requestBody"]["content"]
            ["application/json"]["example"]
            .clone();
        for &status in op.responses.keys() {
            let prefer = format!("code={status}");
            let mut headers = vec![("authorization", "Bearer demo-token"), ("x-specmock-session", "shapes")];
            if status >= 300 {
                headers.push(("prefer", &prefer));
            }
            let reply = send_body(&op.method, &uri, &headers, &body).await;
            assert_eq!(reply.status, status, "{} {uri}: {}", op.id, reply.body);
            let name = format!("shape_{}_{}", op.id, status);
            let body = without_now(reply.body);
            common::snapshots().bind(|| insta::assert_json_snapshot!(name, body));
            pinned += 1;
        }
    }
    // OES: three reads with 6 statuses, two creates with 7, two settlements with 8. BRM: each
    // of its 16 operations declares 8.
    assert_eq!(pinned, 3 * 6 + 2 * 7 + 2 * 8 + 16 * 8, "every operation's every declared status");
}

/// Sends `body` as JSON unless it is null.
async fn send_body(method: &str, uri: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> Reply {
    if body.is_null() {
        return send(method, uri, headers).await;
    }
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "mock.test:4010")
        .header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(axum::body::Body::from(serde_json::to_vec(body).unwrap())).unwrap();
    let response = common::server().handle(request).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null) }
}

/// Today's instants in written records, which differ run to run, as `[now]`.
fn without_now(mut value: serde_json::Value) -> serde_json::Value {
    let today = chrono::Utc::now().format("%Y-%m-%dT").to_string();
    fn walk(v: &mut serde_json::Value, today: &str) {
        match v {
            serde_json::Value::String(s) if s.starts_with(today) => *s = "[now]".into(),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, today)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|i| walk(i, today)),
            _ => {}
        }
    }
    walk(&mut value, &today);
    value
}
