//! Typed request/reply over the service API, and every way it can fail.

use std::time::Duration;

use bus::{Actor, Bus, BusError, ErrorCode, RequestContext, ServiceError};
use testkit::TestEnv;
use uuid::Uuid;

use crate::fixtures::{Echo, Echoed};

/// A stateless handler: its state is `()`.
async fn echo(_: &(), ctx: RequestContext, req: Echo) -> Result<Echoed, ServiceError> {
    if req.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(req.delay_ms)).await;
    }
    match req.text.as_str() {
        "missing" => Err(ServiceError::not_found("no such thing")
            .with_details(serde_json::json!({"field": "text"}))),
        "boom" => Err(ServiceError::internal(std::io::Error::other(
            "secret internals",
        ))),
        _ => Ok(Echoed {
            text: req.text,
            correlation_id: ctx.correlation_id,
            user_id: ctx.actor.map(|a| a.user_id),
        }),
    }
}

pub(crate) async fn start_echo(bus: &Bus) -> bus::RunningService {
    bus.service("echo", "1.2.3", "Echoes text back")
        .endpoint(echo)
        .start()
        .await
        .unwrap()
}

/// A handler with state: it signals when a request arrived, then takes its time.
async fn slow_echo(
    started: &tokio::sync::Notify,
    _ctx: RequestContext,
    req: Echo,
) -> Result<Echoed, ServiceError> {
    started.notify_one();
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(Echoed {
        text: req.text,
        correlation_id: String::new(),
        user_id: None,
    })
}

#[tokio::test]
async fn a_typed_request_gets_the_typed_reply_with_context_carried_over() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_echo(&bus).await;
    let user_id = Uuid::now_v7();
    let ctx = RequestContext::new().with_actor(Some(Actor {
        user_id,
        roles: vec!["user".into()],
    }));

    let reply = bus.request(&ctx, &Echo::new("hello")).await.unwrap();

    assert_eq!(reply.text, "hello");
    assert_eq!(reply.correlation_id, ctx.correlation_id);
    assert_eq!(reply.user_id, Some(user_id));
}

#[tokio::test]
async fn a_service_error_comes_back_with_its_code_message_and_details() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_echo(&bus).await;

    let err = bus
        .request(&RequestContext::new(), &Echo::new("missing"))
        .await
        .unwrap_err();

    match err {
        BusError::Service {
            code,
            message,
            details,
        } => {
            assert_eq!(code, ErrorCode::NotFound);
            assert_eq!(message, "no such thing");
            assert_eq!(details, Some(serde_json::json!({"field": "text"})));
        }
        other => panic!("expected a service error, got {other:?}"),
    }
}

#[tokio::test]
async fn error_replies_carry_the_adr32_headers() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_echo(&bus).await;

    let reply = bus
        .client()
        .request(
            env.prefix.subject("test.v1.echo.run"),
            r#"{"text":"missing"}"#.into(),
        )
        .await
        .unwrap();

    let headers = reply.headers.unwrap();
    assert_eq!(
        headers.get("Nats-Service-Error-Code").unwrap().as_str(),
        "404"
    );
    assert_eq!(
        headers.get("Nats-Service-Error").unwrap().as_str(),
        "no such thing"
    );
    assert_eq!(
        headers.get("Bourse-Error-Code").unwrap().as_str(),
        "not_found"
    );
}

#[tokio::test]
async fn internal_errors_do_not_leak_their_cause() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_echo(&bus).await;

    let err = bus
        .request(&RequestContext::new(), &Echo::new("boom"))
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::Internal);
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn malformed_and_invalid_bodies_are_refused_before_the_handler() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_echo(&bus).await;
    let subject = env.prefix.subject("test.v1.echo.run");

    for (body, expected) in [("{not json", "400"), (r#"{"text": 5}"#, "422"), ("", "422")] {
        let reply = bus
            .client()
            .request(subject.clone(), body.into())
            .await
            .unwrap();
        let status = reply
            .headers
            .unwrap()
            .get("Nats-Service-Error-Code")
            .unwrap()
            .as_str()
            .to_owned();
        assert_eq!(status, expected, "body {body:?}");
    }
}

#[tokio::test]
async fn a_request_nobody_answers_is_no_responders() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;

    let err = bus
        .request(&RequestContext::new(), &Echo::new("x"))
        .await
        .unwrap_err();

    assert!(matches!(err, BusError::NoResponders { .. }), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Unavailable);
}

#[tokio::test]
async fn a_request_past_its_timeout_is_a_timeout() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    // A subscriber that never answers: the request must give up on its own.
    let _silent = bus
        .client()
        .subscribe(env.prefix.subject("test.v1.echo.run"))
        .await
        .unwrap();

    let err = bus
        .request_with_timeout(
            &RequestContext::new(),
            &Echo::new("x"),
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();

    assert!(matches!(err, BusError::Timeout { .. }), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Timeout);
}

#[tokio::test]
async fn slow_requests_do_not_hold_up_the_others() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_echo(&bus).await;
    let ctx = RequestContext::new();

    // Ten requests of 300 ms each, one endpoint: sequential handling would take 3 s.
    let started = tokio::time::Instant::now();
    let requests: Vec<Echo> = (0..10)
        .map(|i| Echo {
            text: format!("r{i}"),
            delay_ms: 300,
        })
        .collect();
    let replies =
        futures::future::join_all(requests.iter().map(|req| bus.request(&ctx, req))).await;

    assert!(replies.iter().all(Result::is_ok));
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_payload_over_the_server_limit_is_refused_locally() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _service = start_echo(&bus).await;
    let huge = "x".repeat(bus.client().server_info().max_payload + 1);

    let err = bus
        .request(
            &RequestContext::new(),
            &Echo {
                text: huge,
                delay_ms: 0,
            },
        )
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
}

#[tokio::test]
async fn two_instances_share_the_requests_through_the_queue_group() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let _a = start_echo(&bus).await;
    let _b = start_echo(&env.bus().await).await;
    let ctx = RequestContext::new();
    for i in 0..40 {
        bus.request(
            &ctx,
            &Echo {
                text: format!("{i}"),
                delay_ms: 0,
            },
        )
        .await
        .unwrap();
    }

    let stats = bus
        .service_stats(Some("echo"), bus::discovery::Window::default())
        .await
        .unwrap();

    assert_eq!(stats.len(), 2);
    let served: Vec<usize> = stats.iter().map(|s| s.endpoints[0].requests).collect();
    assert_eq!(served.iter().sum::<usize>(), 40);
    assert!(
        served.iter().all(|n| *n > 0),
        "both instances served: {served:?}"
    );
}

#[tokio::test]
async fn stopping_a_service_waits_for_requests_in_flight() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let service = bus
        .service("echo", "1.0.0", "slow echo")
        .state(started.clone())
        .endpoint(slow_echo)
        .start()
        .await
        .unwrap();
    let client = bus.clone();
    let pending = tokio::spawn(async move {
        client
            .request(&RequestContext::new(), &Echo::new("late"))
            .await
    });
    started.notified().await;

    service.stop(Duration::from_secs(2)).await;

    assert_eq!(pending.await.unwrap().unwrap().text, "late");
}
