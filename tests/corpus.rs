//! Real public API descriptions nobody here wrote (tests/corpus/SOURCES.md): each loads, and
//! every operation, sent a valid request, answers something its document allows. The server is
//! strict, so a response that breaks the document would be a 500 and fail the check.

use specmock::verify::{run, Config, Outcome};

async fn drive(file: &str) {
    let path = format!("{}/tests/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
    let server = specmock::MockServer::builder().spec(&path).start().await;
    let api = specmock::Api::from_file(&path).unwrap();
    let config =
        Config { base_url: server.uri(), token: Some("corpus-token-0123456789".into()), negative: false, writes: true };
    let report = run(&api, &config).await;
    assert!(report.passed(), "{file}:\n{}", report.text());
    let skipped: Vec<_> = report.checks.iter().filter(|c| matches!(c.outcome, Outcome::Skip(_))).collect();
    assert!(skipped.is_empty(), "{file}: {} skipped", skipped.len());
    assert_eq!(
        report.checks.iter().filter(|c| c.name == "baseline").count(),
        api.operations().len(),
        "{file}: every operation is driven"
    );
}

macro_rules! corpus {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                drive($file).await;
            }
        )*
    };
}

corpus! {
    petstore_oas30 => "petstore-oas30.yaml",
    petstore_oas31 => "petstore-oas31.yaml",
    callback_example_oas30 => "callback-example-oas30.yaml",
    non_oauth_scopes_oas31 => "non-oauth-scopes-oas31.yaml",
    box_oas30 => "box-oas30.json",
    xero_accounting_oas30 => "xero-accounting-oas30.yaml",
    twilio_messaging_oas30 => "twilio-messaging-oas30.json",
    discord_oas31 => "discord-oas31.json",
    adyen_transfers_oas31 => "adyen-transfers-oas31.yaml",
    xero_webhooks_oas31 => "xero-webhooks-oas31.yaml",
}

corpus! {
    petstore_swagger2 => "petstore-swagger2.json",
    uber_swagger2 => "uber-swagger2.yaml",
    docker_engine_swagger2 => "docker-engine-swagger2.yaml",
    harbor_swagger2 => "harbor-swagger2.yaml",
    slack_web_swagger2 => "slack-web-swagger2.json",
}
