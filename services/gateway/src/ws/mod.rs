//! Live events and terminals over one multiplexed WebSocket: `GET /ws` (`/ws/prices`,
//! `/ws/portfolio`, `/ws/chat` and `/ws/terminal`, paths older clients know, are aliases).
//!
//! # Topics
//!
//! | topic | keys | stream | who |
//! |---|---|---|---|
//! | `prices` | tickers (`AAPL`, `BRK.B`) | `PRICES`: `evt.price.<ticker>` | anyone |
//! | `portfolio` | portfolio ids | `PORTFOLIO`: `evt.portfolio.<id>.created\|updated\|deleted\|activity_recorded\|activity_deleted`, `evt.trade.<id>.executed` | the portfolio's owner |
//! | `valuation` | portfolio ids | `VALUATIONS`: `evt.valuation.<id>` | the portfolio's owner |
//! | `chat` | conversation ids | `CHAT`: `evt.chat.<id>.started\|delta\|tool_call\|tool_result\|completed\|failed` | the conversation's owner |
//! | `workspace` | project ids | `WORKSPACE`: `evt.workspace.<id>.file_created\|file_updated\|file_deleted\|committed\|pushed\|pulled` | the project's owner |
//!
//! A `seq` is a position in the topic's stream, so each topic resumes on its own: a portfolio
//! page subscribes to `portfolio` and `valuation` with the same ids, each with its own
//! `resume_from`. Another user's portfolio, or one that does not exist, is refused with
//! `error` `not_found`; an anonymous socket with `unauthorized`.
//!
//! # Terminals
//!
//! A signed-in socket follows one terminal session of its user at a time (the `terminal` topic
//! of the design; a session is not a stream, so it has frames of its own rather than
//! `subscribe`):
//!
//! | frame | meaning |
//! |---|---|
//! | `{"type":"attach","session_id":"…","offset":N}` | follow the session from byte offset `N` (the last you processed; none: everything it still holds) |
//! | server: `{"type":"attached","session":{…},"from_offset":N}` | output from `N` follows as binary frames |
//! | server, binary: `0x00` + bytes | output; the offsets run on from `from_offset`, without gap or duplicate |
//! | binary: `0x00` + bytes | input (keystrokes), as a terminal sends them |
//! | `{"type":"ack","offset":N}` | you processed output up to `N`; ack at least every 256 KiB: the server sends at most 1 MiB past your last ack, then pauses (a paused socket loses nothing: it resumes from the scrollback) |
//! | `{"type":"resize","cols":C,"rows":R}` | resize the terminal; answered `resized` with the session |
//! | `{"type":"detach"}` | stop following; answered `detached` |
//! | server: `{"type":"truncated","session_id":"…","from_offset":A,"to_offset":B}` | bytes `A..B` are gone from the scrollback (you were more than its size behind); output goes on at `B` |
//! | server: `{"type":"exited","session_id":"…","exit_code":C,"output_offset":N}` | the program exited after output `N`; the socket is detached |
//!
//! Any number of sockets may attach to one session: each gets all output, each may type.
//! Another user's session, or a gone one, is `error` `not_found`.
//!
//! # Frames
//!
//! Every frame is one JSON text message with a `type` (terminal output and input excepted).
//!
//! Client → server:
//!
//! | frame | meaning |
//! |---|---|
//! | `{"type":"subscribe","topic":"prices","keys":["AAPL","MSFT"]}` | follow these keys (for `prices`: tickers, also accepted as `symbols`) from now on |
//! | `{"type":"subscribe","topic":"prices","keys":[…],"resume_from":N}` | also get every stored event after stream sequence `N` first |
//! | `{"type":"subscribe","topic":"portfolio","keys":["<portfolio id>"]}` | follow your portfolio's events (`valuation` likewise for its valuations) |
//! | `{"type":"unsubscribe","topic":"prices","keys":["MSFT"]}` | stop following these; no or empty `keys` = all |
//! | `{"type":"ping"}` | answered with `pong` |
//! | `{"type":"auth","token":"<access token>"}` | sign the socket in, or renew the sign-in with a fresh token before the old one expires |
//!
//! Server → client:
//!
//! | frame | meaning |
//! |---|---|
//! | `{"type":"subscribed","topic":"prices","keys":[…],"last_seq":L}` | the subscription now covers `keys` (the whole set, sorted); events after `L` are live |
//! | `{"type":"unsubscribed","topic":"prices","keys":[…]}` | what is left subscribed |
//! | `{"type":"event","topic":"prices","seq":S,"subject":"evt.price.AAPL","data":{…PriceUpdated…}}` | one stored event; `seq` is its JetStream stream sequence |
//! | `{"type":"lagged","topic":"prices","resume_from":S}` | you fell behind and your feed was stopped; every event up to `S` was sent |
//! | `{"type":"error","code":"validation_failed","message":"…"}` | a frame was refused (code from the error catalogue); the socket stays usable |
//! | `{"type":"pong"}` | answer to `ping` |
//! | `{"type":"authenticated","user_id":"…","roles":["user"],"expires_at":"…"}` | the socket is signed in until `expires_at` |
//! | `{"type":"error","code":"unauthorized","message":"…"}` | an `auth` token was refused, or the signed-in token just expired: the socket is anonymous again (until a new `auth`) but stays open |
//!
//! # Authentication
//!
//! Prices are public: a socket may subscribe without signing in. To sign in, either send an
//! `auth` frame (first, or at any time), or offer the subprotocols `bearer, <access token>` in
//! `Sec-WebSocket-Protocol` (browsers cannot set `Authorization` on a WebSocket): the server
//! verifies the token before upgrading — an invalid one is refused with 401 and
//! `WWW-Authenticate` — and selects the subprotocol `bearer` (the token is never echoed). The
//! first frame of such a socket is `authenticated`. Tokens are never read from the URL (URLs
//! are logged by proxies). A signed-in socket's access ends at the token's `exp`: the client gets
//! `error` `unauthorized` then, unless it sent a new `auth` frame with a fresh token first, and
//! its `portfolio` and `valuation` subscriptions end (`unsubscribed` with no keys), as they do
//! when an `auth` frame signs in another user.
//!
//! # Guarantees
//!
//! - One shared feed per topic per gateway (see `ws::hub`): one JetStream ordered consumer reads
//!   the topic's stream, whatever the number of sockets, and events are routed in memory to
//!   the sockets following their key. A resume reads only the gap with a short-lived consumer,
//!   then joins the shared feed (`ws::subscription`).
//! - Per socket and topic, `seq` is strictly increasing.
//! - `subscribed` comes before any event it enables. Without `resume_from`, events are those
//!   after `last_seq`; with it, those after `resume_from` (capped at the stream's end).
//! - **Resume**: keep the `seq` of the last event you processed. After a reconnect (or a
//!   `lagged` frame), subscribe with `resume_from` set to it — in ONE frame with all your
//!   keys — and you get exactly the events you missed, then live ones: no gap, no duplicate.
//! - Subscribing again while subscribed widens the set without restarting anything; with a
//!   `resume_from` it replays the new keys from there, unless that is behind an event the
//!   socket already sent (`error` `conflict`: sequences would go backwards).
//! - **Slow clients**: each socket buffers at most `BOURSE_WS_BUFFER` frames. When the buffer
//!   is full the feed stops, and once there is room the client gets `lagged`; it resubscribes
//!   with `resume_from`. Memory per client stays bounded.
//! - Bad frames (malformed JSON → `bad_request`; unknown `type`/`topic`, bad symbol →
//!   `validation_failed`; binary other than terminal input → `unsupported_media_type`) get an `error` frame and the socket
//!   stays usable. A message over 1 MB cannot be skipped (the stream is mid-frame): the client
//!   gets `error` `payload_too_large`, then close code 1009.
//! - With the topic's stream missing or NATS down, `subscribe` gets `error` `unavailable`. A
//!   feed that ends (the stream was deleted) tells its sockets `lagged`; they resume.
//! - The server pings every `BOURSE_WS_PING_INTERVAL`; a client silent (no frame, no pong) for
//!   `BOURSE_WS_IDLE_TIMEOUT` is closed. At shutdown, clients get close code 1001.

pub mod protocol;

pub(crate) mod caps;
pub(crate) mod hub;
mod session;
mod subscription;
mod terminal;
mod topic;
mod writer;

use ::auth::AccessClaims;
use axum::{
    extract::{State, WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};

use bus::{ErrorCode, ServiceError};

use crate::{
    app::AppState, auth, config::WS_MESSAGE_LIMIT, context::Ctx, error::ApiError,
    openapi::ErrorEnvelope, ratelimit::ClientIp,
};

/// The subprotocol that carries an access token: `Sec-WebSocket-Protocol: bearer, <token>`.
const BEARER_PROTOCOL: &str = "bearer";

/// The token offered as `bearer, <token>` in `Sec-WebSocket-Protocol`, if any.
fn protocol_token(headers: &HeaderMap) -> Option<String> {
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let at = offered
        .iter()
        .position(|p| p.eq_ignore_ascii_case(BEARER_PROTOCOL))?;
    offered.get(at + 1).cloned()
}

/// Upgrades to the live-event WebSocket (frames: see the gateway's README).
#[utoipa::path(
    get, path = "/ws", tag = "live",
    responses(
        (status = 101, description = "Switching protocols: JSON frames follow"),
        (status = 400, description = "Not a WebSocket upgrade request", body = ErrorEnvelope),
        (status = 401, description = "The token offered in Sec-WebSocket-Protocol is invalid", body = ErrorEnvelope),
        (status = 429, description = "Too many WebSockets open from this address, or for this user", body = ErrorEnvelope),
    )
)]
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    client_ip: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let ip = client_ip.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |ip| ip.0.0);
    let Some(ip_slot) = state.socket_caps.ip(ip) else {
        let cap = state.socket_caps.per_ip();
        return too_many(format!(
            "at most {cap} WebSockets may be open from one address"
        ));
    };
    let mut signed_in: Option<(AccessClaims, caps::Slot)> = None;
    let ws = match protocol_token(&headers) {
        None => ws,
        Some(token) => match state.verifier.verify(&token) {
            Ok(claims) => {
                let Some(user_slot) = state.socket_caps.user(auth::actor_of(&claims).user_id)
                else {
                    let cap = state.socket_caps.per_user();
                    return too_many(format!("at most {cap} WebSockets may be open per user"));
                };
                signed_in = Some((claims, user_slot));
                ws.protocols([BEARER_PROTOCOL])
            }
            Err(err) => {
                tracing::debug!(error.message = %err, "WebSocket access token refused");
                return auth::unauthorized("the access token is invalid", true);
            }
        },
    };
    ws.max_message_size(WS_MESSAGE_LIMIT)
        .max_frame_size(WS_MESSAGE_LIMIT)
        // Client frames are small; the buffer grows for a larger one. The 128 KiB default
        // would be reserved per socket, and a gateway holds tens of thousands.
        .read_buffer_size(READ_BUFFER)
        .on_failed_upgrade(|err| tracing::debug!(error.message = %err, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| {
            let tasks = state.ws_tasks.clone();
            tasks.track_future(session::run(socket, state, ctx, ip_slot, signed_in))
        })
}

/// Initial read buffer of a socket. tungstenite allocates and zero-fills it up front, so it is
/// resident for every socket: 4 KiB put the bench's 10,000 idle sockets at 20.5 KiB each,
/// 1 KiB at 17.3 KiB. Control frames are far smaller; a larger frame grows the buffer.
const READ_BUFFER: usize = 1024;

fn too_many(message: String) -> Response {
    ApiError::from(ServiceError::new(ErrorCode::RateLimited, message)).into_response()
}

/// The price WebSocket under the path older clients know; the same as `/ws`.
#[utoipa::path(
    get, path = "/ws/prices", tag = "live",
    responses(
        (status = 101, description = "Switching protocols: JSON frames follow"),
        (status = 400, description = "Not a WebSocket upgrade request", body = ErrorEnvelope),
        (status = 401, description = "The token offered in Sec-WebSocket-Protocol is invalid", body = ErrorEnvelope),
        (status = 429, description = "Too many WebSockets open from this address, or for this user", body = ErrorEnvelope),
    )
)]
pub(crate) async fn upgrade_prices(
    state: State<AppState>,
    ctx: Ctx,
    client_ip: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, ctx, client_ip, headers, ws).await
}

/// The portfolio WebSocket under the path older clients know; the same as `/ws`.
#[utoipa::path(
    get, path = "/ws/portfolio", tag = "live",
    responses(
        (status = 101, description = "Switching protocols: JSON frames follow"),
        (status = 400, description = "Not a WebSocket upgrade request", body = ErrorEnvelope),
        (status = 401, description = "The token offered in Sec-WebSocket-Protocol is invalid", body = ErrorEnvelope),
        (status = 429, description = "Too many WebSockets open from this address, or for this user", body = ErrorEnvelope),
    )
)]
pub(crate) async fn upgrade_portfolio(
    state: State<AppState>,
    ctx: Ctx,
    client_ip: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, ctx, client_ip, headers, ws).await
}

/// The terminal WebSocket under the path older clients know; the same as `/ws` (send `attach`).
#[utoipa::path(
    get, path = "/ws/terminal", tag = "live",
    responses(
        (status = 101, description = "Switching protocols: JSON frames and binary terminal frames follow"),
        (status = 400, description = "Not a WebSocket upgrade request", body = ErrorEnvelope),
        (status = 401, description = "The token offered in Sec-WebSocket-Protocol is invalid", body = ErrorEnvelope),
        (status = 429, description = "Too many WebSockets open from this address, or for this user", body = ErrorEnvelope),
    )
)]
pub(crate) async fn upgrade_terminal(
    state: State<AppState>,
    ctx: Ctx,
    client_ip: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, ctx, client_ip, headers, ws).await
}

/// The chat WebSocket under the path older clients know; the same as `/ws`.
#[utoipa::path(
    get, path = "/ws/chat", tag = "live",
    responses(
        (status = 101, description = "Switching protocols: JSON frames follow"),
        (status = 400, description = "Not a WebSocket upgrade request", body = ErrorEnvelope),
        (status = 401, description = "The token offered in Sec-WebSocket-Protocol is invalid", body = ErrorEnvelope),
        (status = 429, description = "Too many WebSockets open from this address, or for this user", body = ErrorEnvelope),
    )
)]
pub(crate) async fn upgrade_chat(
    state: State<AppState>,
    ctx: Ctx,
    client_ip: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, ctx, client_ip, headers, ws).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_token_follows_the_bearer_subprotocol() {
        let mut headers = HeaderMap::new();
        assert_eq!(protocol_token(&headers), None);
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("bearer, abc.def.ghi"),
        );
        assert_eq!(protocol_token(&headers).as_deref(), Some("abc.def.ghi"));
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("bearer"),
        );
        assert_eq!(protocol_token(&headers), None);
    }
}
