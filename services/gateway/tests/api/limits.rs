//! Limits at the door: a client that sends half a request head and then nothing is cut off
//! after the header-read timeout, while complete requests are served as before.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn half_a_request_head_is_cut_off_after_the_header_read_timeout() {
    let app =
        spawn_app_with(|config| config.header_read_timeout = Duration::from_millis(300)).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: gateway\r\n")
        .await
        .unwrap();

    // The gateway answers 408 or just closes; either way the socket ends, long before a
    // patient client would give up.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the half-open connection is still open after 10 s"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 200, "a complete request is served: {body}");
}

#[tokio::test]
async fn a_kept_alive_connection_serves_several_requests() {
    let app = spawn_app_with(|config| config.header_read_timeout = Duration::from_secs(5)).await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    for _ in 0..2 {
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0; 16 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
}
