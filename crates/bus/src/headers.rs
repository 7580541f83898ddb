//! Who and what a message is part of: [`RequestContext`] travels in NATS headers on every
//! request and event.
//!
//! `Bourse-User-Id` / `Bourse-User-Roles` are set only by the gateway after it verified a JWT;
//! services authorize every object access against them. NATS itself is the trust boundary:
//! clients of the platform never publish to NATS directly.

use async_nats::HeaderMap;
use rand::Rng;
use uuid::Uuid;

pub const CORRELATION_ID: &str = "Bourse-Correlation-Id";
pub const TRACEPARENT: &str = "traceparent";
pub const USER_ID: &str = "Bourse-User-Id";
pub const USER_ROLES: &str = "Bourse-User-Roles";
pub const ERROR_CODE: &str = "Bourse-Error-Code";
pub const ERROR_DETAILS: &str = "Bourse-Error-Details";
pub const MSG_ID: &str = "Nats-Msg-Id";

/// The longest correlation id we accept from outside; longer ones are replaced.
const MAX_CORRELATION_ID_LEN: usize = 128;

/// The user a request acts for, as verified by the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub roles: Vec<String>,
}

impl Actor {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Correlation, trace and user of one request or event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub correlation_id: String,
    /// The W3C trace this request is part of, and this hop's span in it.
    trace: Trace,
    pub actor: Option<Actor>,
}

impl Default for RequestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestContext {
    /// A fresh context: new correlation id, new trace.
    pub fn new() -> Self {
        Self::with_parts(None, None, None)
    }

    /// The user the request acts for, or `unauthorized` ("sign in to `to`") when it acts for
    /// nobody: the first check of every request about a user's own things.
    pub fn signed_in(&self, to: &str) -> Result<&Actor, crate::ServiceError> {
        self.actor.as_ref().ok_or_else(|| {
            crate::ServiceError::new(crate::ErrorCode::Unauthorized, format!("sign in to {to}"))
        })
    }

    pub fn with_actor(mut self, actor: Option<Actor>) -> Self {
        self.actor = actor;
        self
    }

    /// The caller's correlation id when it is printable and short, and the caller's trace when
    /// its `traceparent` is well-formed; else fresh ones. Every request at the edge and every
    /// request a service answers is read this way, so nothing is made only to be replaced.
    pub fn with_parts(
        correlation_id: Option<&str>,
        traceparent: Option<&str>,
        actor: Option<Actor>,
    ) -> Self {
        let correlation_id = correlation_id
            .filter(|id| is_acceptable_correlation_id(id))
            .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
        Self {
            correlation_id,
            trace: Trace::continuing(traceparent.and_then(parse_trace_id)),
            actor,
        }
    }

    /// The trace id part of `traceparent`, for span fields.
    pub fn trace_id(&self) -> &str {
        self.trace.trace_id()
    }

    /// W3C trace context of this hop, `00-<trace-id>-<span-id>-01`.
    pub fn traceparent(&self) -> String {
        self.trace.traceparent()
    }

    /// Headers for an outgoing message: the same trace, a new span id for this hop.
    pub fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CORRELATION_ID, self.correlation_id.as_str());
        headers.insert(TRACEPARENT, self.trace.next_hop().traceparent().as_str());
        if let Some(actor) = &self.actor {
            headers.insert(USER_ID, actor.user_id.to_string().as_str());
            headers.insert(USER_ROLES, actor.roles.join(",").as_str());
        }
        headers
    }

    /// Reads a context from an incoming message; missing parts are made fresh, a malformed
    /// user id means "no user".
    pub fn from_headers(headers: Option<&HeaderMap>) -> Self {
        let get = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
        let actor = get(USER_ID)
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(|user_id| Actor {
                user_id,
                roles: get(USER_ROLES)
                    .map(|roles| {
                        roles
                            .split(',')
                            .map(str::trim)
                            .filter(|r| !r.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        Self::with_parts(get(CORRELATION_ID), get(TRACEPARENT), actor)
    }
}

fn is_acceptable_correlation_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_CORRELATION_ID_LEN && id.chars().all(|c| c.is_ascii_graphic())
}

/// A trace id and a span id as the lowercase hex `traceparent` carries them, kept as text so
/// that span fields borrow them and headers copy them without formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Trace {
    trace_id: [u8; 32],
    span_id: [u8; 16],
}

impl Trace {
    /// A new span of `trace_id`, or of a new trace.
    fn continuing(trace_id: Option<&str>) -> Self {
        let mut trace = Self {
            trace_id: [0; 32],
            span_id: [0; 16],
        };
        match trace_id {
            Some(id) => trace.trace_id.copy_from_slice(id.as_bytes()),
            // Never all zeros (invalid in W3C trace context), here and in the span id.
            None => hex_into(
                &mut trace.trace_id,
                &(rand::rng().random::<u128>() | 1).to_be_bytes(),
            ),
        }
        trace.next_hop()
    }

    /// The same trace, a new span.
    fn next_hop(mut self) -> Self {
        hex_into(
            &mut self.span_id,
            &(rand::rng().random::<u64>() | 1).to_be_bytes(),
        );
        self
    }

    fn trace_id(&self) -> &str {
        // Only ever hex digits: `hex_into` wrote them, or `parse_trace_id` checked them.
        std::str::from_utf8(&self.trace_id).unwrap_or_default()
    }

    fn traceparent(&self) -> String {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        out.push_str(self.trace_id());
        out.push('-');
        out.push_str(std::str::from_utf8(&self.span_id).unwrap_or_default());
        out.push_str("-01");
        out
    }
}

/// Writes `bytes` as lowercase hex into `out` (twice as long).
fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

/// The 32-hex-digit trace id of a version-00 `traceparent`, if it is well-formed.
fn parse_trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (version, trace_id, span_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    };
    let not_zero = |s: &str| s.bytes().any(|c| c != b'0');
    let valid = version == "00"
        && parts.next().is_none()
        && hex(trace_id, 32)
        && hex(span_id, 16)
        && hex(flags, 2)
        && not_zero(trace_id)
        && not_zero(span_id);
    valid.then_some(trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_survives_a_trip_through_headers() {
        let actor = Actor {
            user_id: Uuid::now_v7(),
            roles: vec!["user".into(), "admin".into()],
        };
        let ctx = RequestContext::new().with_actor(Some(actor.clone()));
        let back = RequestContext::from_headers(Some(&ctx.to_headers()));
        assert_eq!(back.correlation_id, ctx.correlation_id);
        assert_eq!(back.trace_id(), ctx.trace_id());
        assert_ne!(
            back.traceparent(),
            ctx.traceparent(),
            "each hop gets its own span id"
        );
        assert_eq!(back.actor, Some(actor));
    }

    #[test]
    fn malformed_values_are_replaced_not_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(CORRELATION_ID, "x".repeat(500).as_str());
        headers.insert(TRACEPARENT, "00-zz-11-01");
        headers.insert(USER_ID, "not-a-uuid");
        let ctx = RequestContext::from_headers(Some(&headers));
        assert_eq!(ctx.correlation_id.len(), 36);
        assert_eq!(ctx.trace_id().len(), 32);
        assert_eq!(ctx.actor, None);
    }

    #[test]
    fn a_valid_traceparent_keeps_its_trace_id() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = RequestContext::with_parts(None, Some(parent), None);
        assert_eq!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let hop = ctx.traceparent();
        assert!(
            hop.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && hop.ends_with("-01"),
            "{hop}"
        );
        assert_eq!(parse_trace_id(&hop), Some(ctx.trace_id()), "{hop}");
    }

    #[test]
    fn a_fresh_trace_is_well_formed_and_its_own() {
        let (one, two) = (RequestContext::new(), RequestContext::new());
        assert_eq!(parse_trace_id(&one.traceparent()), Some(one.trace_id()));
        assert_ne!(one.trace_id(), two.trace_id());
        assert_ne!(one.correlation_id, two.correlation_id);
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",
            "00-4bf92f3577b34da6a3ce929d0e0e473\u{e9}-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_trace_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_parts_of_a_message_are_taken_when_acceptable() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = RequestContext::with_parts(Some("order-42"), Some(parent), None);
        assert_eq!(ctx.correlation_id, "order-42");
        assert_eq!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let ctx = RequestContext::with_parts(Some("has space"), Some("junk"), None);
        assert_eq!(ctx.correlation_id.len(), 36, "a new uuid");
        assert_ne!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
