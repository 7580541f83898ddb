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
    /// W3C trace context, `00-<trace-id>-<span-id>-<flags>`.
    pub traceparent: String,
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
        Self {
            correlation_id: Uuid::now_v7().to_string(),
            traceparent: new_traceparent(None),
            actor: None,
        }
    }

    /// Keeps a caller's correlation id when it is printable and short, else makes one.
    pub fn with_correlation_id(mut self, correlation_id: Option<&str>) -> Self {
        if let Some(id) = correlation_id.filter(|id| is_acceptable_correlation_id(id)) {
            self.correlation_id = id.to_owned();
        }
        self
    }

    /// Continues the caller's trace when `traceparent` is well-formed.
    pub fn with_traceparent(mut self, traceparent: Option<&str>) -> Self {
        if let Some(trace_id) = traceparent.and_then(parse_trace_id) {
            self.traceparent = new_traceparent(Some(trace_id));
        }
        self
    }

    pub fn with_actor(mut self, actor: Option<Actor>) -> Self {
        self.actor = actor;
        self
    }

    /// The trace id part of `traceparent`, for span fields.
    pub fn trace_id(&self) -> &str {
        parse_trace_id(&self.traceparent).unwrap_or("")
    }

    /// Headers for an outgoing message: the same trace, a new span id for this hop.
    pub fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CORRELATION_ID, self.correlation_id.as_str());
        headers.insert(
            TRACEPARENT,
            new_traceparent(parse_trace_id(&self.traceparent)).as_str(),
        );
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
        Self::new()
            .with_correlation_id(get(CORRELATION_ID))
            .with_traceparent(get(TRACEPARENT))
            .with_actor(actor)
    }
}

fn is_acceptable_correlation_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_CORRELATION_ID_LEN && id.chars().all(|c| c.is_ascii_graphic())
}

/// The 32-hex-digit trace id of a version-00 `traceparent`, if it is well-formed.
fn parse_trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (version, trace_id, span_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    };
    let valid = version == "00"
        && parts.next().is_none()
        && hex(trace_id, 32)
        && hex(span_id, 16)
        && hex(flags, 2)
        && trace_id != "0".repeat(32)
        && span_id != "0".repeat(16);
    valid.then_some(trace_id)
}

fn new_traceparent(trace_id: Option<&str>) -> String {
    let mut rng = rand::rng();
    let trace_id = trace_id.map_or_else(
        || format!("{:032x}", rng.random::<u128>() | 1),
        str::to_owned,
    );
    format!("00-{trace_id}-{:016x}-01", rng.random::<u64>() | 1)
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
            back.traceparent, ctx.traceparent,
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
        let ctx = RequestContext::new().with_traceparent(Some(parent));
        assert_eq!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
