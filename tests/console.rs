//! The console's server side over real HTTP: the root's redirect, the embedded files and their
//! headers, the catalogue it prefills Try-it from, and the data browser. The page itself is
//! driven in Chromium by tests/browser/console.mjs (.ci/browser).

mod common;

use serde_json::Value;
use specmock::MockServer;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn the_root_leads_a_browser_to_the_console_and_tells_curl_what_is_here() {
    let server = MockServer::start().await;
    let root = no_redirects().get(format!("{}/", server.uri())).send().await.unwrap();
    assert_eq!(root.status(), 302);
    assert_eq!(root.headers()["location"], "/__admin/ui/");
    let here: Value = root.json().await.unwrap();
    assert_eq!(here["console"], format!("{}/__admin/ui/", server.uri()));
    assert_eq!(here["apis"].as_array().unwrap().len(), 2);

    let without = MockServer::builder().without_admin().start().await;
    let root = no_redirects().get(format!("{}/", without.uri())).send().await.unwrap();
    assert_eq!(root.status(), 200, "no console to go to");
    assert_eq!(root.json::<Value>().await.unwrap()["console"], Value::Null);
    let gone = no_redirects().get(format!("{}/__admin/ui/", without.uri())).send().await.unwrap();
    assert_eq!(gone.status(), 404, "--no-admin takes the console too");
}

#[tokio::test]
async fn the_console_files_are_embedded_open_and_locked_to_this_origin() {
    let server = MockServer::builder().admin_token("s3cret").start().await;
    let http = no_redirects();
    let page = http.get(format!("{}/__admin/ui/", server.uri())).send().await.unwrap();
    assert_eq!(page.status(), 200, "the page holds no data, so it needs no token");
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers().get("access-control-allow-origin").is_none());
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script src="swagger-ui-bundle.js">"#), "the renderer is served from here, no CDN");
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing from elsewhere");

    for (file, media_type) in [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "text/css; charset=utf-8"),
    ] {
        let asset = http.get(format!("{}/__admin/ui/{file}", server.uri())).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{file}");
        assert_eq!(asset.headers()["content-type"], media_type, "{file}");
        assert!(asset.bytes().await.unwrap().len() > 1000, "{file}");
    }
    let missing = http.get(format!("{}/__admin/ui/nope.js", server.uri())).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("console.js"), "the answer names the files there are");
    let bare = http.get(format!("{}/__admin/ui", server.uri())).send().await.unwrap();
    assert_eq!(bare.headers()["location"], "/__admin/ui/");

    let foreign = http
        .get(format!("{}/__admin/ui/console.js", server.uri()))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "the admin guard covers the console");
    let data = http.get(format!("{}/__admin/apis", server.uri())).send().await.unwrap();
    assert_eq!(data.status(), 401, "what the console reads needs the token");
    let health: Value =
        http.get(format!("{}/__admin/health", server.uri())).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["adminTokenRequired"], true, "so the console asks for it first");
}

#[tokio::test]
async fn the_catalogue_prefills_try_it_with_values_that_answer_200() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let catalogue: Value =
        http.get(format!("{}/__admin/apis", server.uri())).send().await.unwrap().json().await.unwrap();
    common::snapshots().bind(|| insta::assert_json_snapshot!("admin_catalogue", catalogue));
    let (mut called, mut unfilled) = (0, Vec::new());
    for api in catalogue["apis"].as_array().unwrap() {
        let token = api["token"].as_str().unwrap();
        // Writes are tried with their documented example bodies, which Swagger UI fills in itself.
        for op in api["operations"].as_array().unwrap().iter().filter(|op| op["method"] == "GET") {
            let mut route = op["route"].as_str().unwrap().to_string();
            for (name, value) in op["tryIt"].as_object().unwrap() {
                route = route.replace(&format!("{{{name}}}"), value.as_str().unwrap());
            }
            if route.contains('{') {
                unfilled.push(op["id"].as_str().unwrap().to_string());
                continue;
            }
            let answer = http.get(format!("{}{route}", server.uri())).bearer_auth(token).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{} {route}", op["id"]);
            called += 1;
        }
    }
    assert_eq!(called, 12, "every bundled read answers 200 with its prefilled values");
    // Collections only clients write start empty: there is no id to offer until one is created.
    assert_eq!(unfilled, ["retrieveAdjustBalance", "retrieveTopupBalance", "retrieveDisputeBalance"]);
}

#[tokio::test]
async fn the_data_browser_pages_and_filters_a_collection() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let r = http.get(path).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let base = format!("{}/__admin/data/prepay-balance/buckets", server.uri());
    let (status, first) = get(format!("{base}?limit=10")).await;
    assert_eq!(status, 200);
    let total = first["total"].as_u64().unwrap();
    assert!(total > 20);
    assert_eq!((first["matched"].as_u64(), first["offset"].as_u64()), (Some(total), Some(0)));
    let ids = |page: &Value| -> Vec<String> {
        page["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    };
    let (_, second) = get(format!("{base}?limit=10&offset=10")).await;
    assert_eq!(ids(&first).len(), 10);
    assert!(ids(&first).iter().all(|id| !ids(&second).contains(id)), "pages do not overlap");
    let href = first["records"][0]["href"].as_str().unwrap();
    assert!(href.starts_with(&format!("{}/brm/prepayBalanceManagement/v4/bucket/", server.uri())), "{href}");

    let wanted = &ids(&second)[3];
    let (_, found) = get(format!("{base}?q={}", wanted.replace('+', "%2B").to_uppercase())).await;
    assert!(ids(&found).contains(wanted), "q ignores case");
    assert!(found["matched"].as_u64().unwrap() < total);

    let (status, problem) = get(format!("{}/__admin/data/prepay-balance/nope", server.uri())).await;
    assert_eq!(status, 404);
    assert!(problem["error"].as_str().unwrap().contains("buckets"), "{problem}");
    let (status, problem) = get(format!("{base}?limit=1000")).await;
    assert_eq!(status, 400);
    assert!(problem["error"].as_str().unwrap().starts_with("limit"), "{problem}");
}
