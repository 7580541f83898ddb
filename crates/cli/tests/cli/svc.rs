//! `bourse svc ls|info|stats`

use bus::{Bus, BusConfig, Prefix, RequestContext, ServiceError, discovery::Window};
use contracts::market::{GetQuote, Quote, Ticker};
use testkit::TestEnv;

use crate::helpers::{bourse, output_of, stdout_of};

async fn no_quote(_: &(), _ctx: RequestContext, request: GetQuote) -> Result<Quote, ServiceError> {
    Err(ServiceError::not_found(format!(
        "no quote for {}",
        request.symbol
    )))
}

/// A service that answers every quote request with `not_found`.
async fn start_quote_service(bus: &Bus, name: &str) -> bus::RunningService {
    bus.service(name, "9.9.9", "answers no quote")
        .endpoint(no_quote)
        .start()
        .await
        .unwrap()
}

async fn instance_id(bus: &Bus, name: &str) -> String {
    let pings = bus
        .ping_services(Some(name), Window::default())
        .await
        .unwrap();
    assert_eq!(pings.len(), 1, "one instance of {name}");
    pings[0].id.clone()
}

#[tokio::test]
async fn svc_ls_lists_a_running_service_of_this_deployment_only() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _ours = start_quote_service(&bus, "quoter").await;
    let other_prefix = Prefix::new(&format!("{}x", env.prefix)).unwrap();
    let other = Bus::connect(BusConfig::new(&env.nats_url, other_prefix, "other"))
        .await
        .unwrap();
    let _theirs = start_quote_service(&other, "elsewhere").await;
    let id = instance_id(&bus, "quoter").await;

    let out = stdout_of(bourse(&env).args(["svc", "ls"])).await;

    let row = out
        .lines()
        .find(|line| line.contains("quoter"))
        .unwrap_or_else(|| panic!("no row:\n{out}"));
    for cell in ["9.9.9", " 1 ", id.as_str()] {
        assert!(row.contains(cell), "{cell:?} missing in {row:?}");
    }
    assert!(
        !out.contains("elsewhere"),
        "another deployment's service is listed:\n{out}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(bourse(&env).args(["svc", "ls", "--json"])).await).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|ping| ping["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["quoter"]);
}

#[tokio::test]
async fn svc_info_shows_endpoints_with_their_subjects() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_quote_service(&bus, "quoter").await;

    let out = stdout_of(bourse(&env).args(["svc", "info", "quoter"])).await;

    assert!(out.starts_with("quoter 9.9.9"), "{out}");
    assert!(out.contains("description: answers no quote"), "{out}");
    let row = out
        .lines()
        .find(|line| line.contains("quote_get"))
        .unwrap_or_else(|| panic!("no endpoint:\n{out}"));
    assert!(
        row.contains(&format!("{}.market.v1.quote.get", env.prefix)),
        "{row}"
    );
}

#[tokio::test]
async fn svc_stats_count_requests_and_errors_per_endpoint() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_quote_service(&bus, "quoter").await;
    let request = GetQuote {
        symbol: Ticker::parse("ZZZ").unwrap(),
    };
    let err = bus
        .request(&RequestContext::new(), &request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), bus::ErrorCode::NotFound);

    let out = stdout_of(bourse(&env).args(["svc", "stats", "quoter"])).await;

    let row = out
        .lines()
        .find(|line| line.contains("quote_get"))
        .unwrap_or_else(|| panic!("no endpoint:\n{out}"));
    let cells: Vec<&str> = row
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells[3..5], ["1", "1"], "requests and errors: {row}");
    assert!(cells[6].contains("no quote for ZZZ"), "last error: {row}");
}

#[tokio::test]
async fn svc_info_of_an_unknown_service_fails_plainly() {
    let env = TestEnv::new().await;

    let output = output_of(
        bourse(&env).args(["svc", "info", "nosuch", "--wait", "300ms"]),
        std::time::Duration::from_secs(30),
    )
    .await;

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no instance of service \"nosuch\" answered"),
        "{stderr}"
    );
}
