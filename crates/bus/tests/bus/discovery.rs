//! ADR-32 discovery: replies are valid against the published schemas and filtered by prefix.

use bus::{RequestContext, ServiceError, discovery::Verb, discovery::Window};
use testkit::TestEnv;

use crate::fixtures::{Echo, Echoed};

fn validator(file: &str) -> jsonschema::Validator {
    let path = format!("{}/tests/adr32/{file}", env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

async fn echo(_: &(), _ctx: RequestContext, req: Echo) -> Result<Echoed, ServiceError> {
    if req.text == "fail" {
        return Err(ServiceError::validation("refused"));
    }
    Ok(Echoed {
        text: req.text,
        correlation_id: String::new(),
        user_id: None,
    })
}

async fn start(bus: &bus::Bus) -> bus::RunningService {
    bus.service("echo", "0.1.0", "Echo for discovery tests")
        .endpoint(echo)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn ping_info_and_stats_replies_are_valid_adr32() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start(&bus).await;
    // One success and one failure, so stats carry counts and a last_error.
    bus.request(&RequestContext::new(), &Echo::new("ok"))
        .await
        .unwrap();
    bus.request(&RequestContext::new(), &Echo::new("fail"))
        .await
        .unwrap_err();

    for (verb, file) in [
        (Verb::Ping, "ping_response.json"),
        (Verb::Info, "info_response.json"),
        (Verb::Stats, "stats_response.json"),
    ] {
        let replies = bus
            .collect_raw(verb, Some("echo"), Window::default())
            .await
            .unwrap();
        let ours: Vec<_> = replies
            .iter()
            .filter(|r| {
                r["metadata"]["bourse_prefix"] == env.prefix.as_str() || verb == Verb::Stats
            })
            .collect();
        assert!(!ours.is_empty(), "{verb:?}: no reply");
        let validator = validator(file);
        for reply in ours {
            let errors: Vec<String> = validator
                .iter_errors(reply)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{verb:?} reply {reply} is not valid ADR-32: {errors:?}"
            );
        }
    }
}

#[tokio::test]
async fn info_lists_endpoints_with_schema_valid_names_and_prefixed_subjects() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start(&bus).await;

    let infos = bus
        .service_infos(Some("echo"), Window::default())
        .await
        .unwrap();

    assert_eq!(infos.len(), 1);
    let endpoint = &infos[0].endpoints[0];
    assert_eq!(endpoint.name, "echo_run");
    assert_eq!(endpoint.subject, env.prefix.subject("test.v1.echo.run"));
    assert_eq!(infos[0].version, "0.1.0");
}

#[tokio::test]
async fn discovery_leaves_out_other_deployments() {
    let env = TestEnv::new().await;
    let other = TestEnv::new().await;
    let bus = env.bus().await;
    let _ours = start(&bus).await;
    let _theirs = start(&other.bus().await).await;

    let pings = bus
        .ping_services(Some("echo"), Window::default())
        .await
        .unwrap();
    let stats = bus
        .service_stats(Some("echo"), Window::default())
        .await
        .unwrap();

    assert_eq!(
        pings.len(),
        1,
        "ids: {:?}",
        pings.iter().map(|p| &p.id).collect::<Vec<_>>()
    );
    assert_eq!(stats.len(), 1);
    assert_eq!(pings[0].id, stats[0].id);
}
