//! Rate limits at the edge, with `governor` (GCRA, the engine under tower-governor) keyed
//! limiters. tower-governor's layer is not used because two of our limits need what only the
//! handler knows (the email in a login body, the verified user), and its refusals would not be
//! envelopes; one small module keeps every limit and its 429 in one place.
//!
//! - per client IP on every route (`BOURSE_RATE_LIMIT_RPS` / `_BURST`): [`per_ip`];
//! - per signed-in user (`BOURSE_USER_RATE_LIMIT_RPS`): [`Limits::check_user`], from `auth`;
//! - login and register, per IP and per normalised email, each (`BOURSE_LOGIN_RATE_PER_MIN`,
//!   `BOURSE_REGISTER_RATE_PER_MIN`): [`Limits::check_login`] / [`Limits::check_register`].
//!
//! A refusal is 429 `rate_limited` with `Retry-After` (whole seconds, at least 1). Keys of clients
//! that went quiet are dropped every minute by [`Limits::forget_idle`], so memory follows the
//! recent number of clients, not every address ever seen.

use std::{
    hash::Hash,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use bus::{ErrorCode, ServiceError};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};
use uuid::Uuid;

use crate::{app::AppState, config::Config, error::ApiError};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// One keyed limit; `None` inside when configured off (0).
struct Limit<K: Hash + Eq + Clone> {
    limiter: Option<Keyed<K>>,
    what: &'static str,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(quota: Option<Quota>, what: &'static str) -> Self {
        Self {
            limiter: quota.map(RateLimiter::keyed),
            what,
        }
    }

    fn check(&self, key: &K) -> Result<(), RateLimited> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| RateLimited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            what: self.what,
        })
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Every limit of the gateway.
pub(crate) struct Limits {
    ip: Limit<IpAddr>,
    user: Limit<Uuid>,
    login_ip: Limit<IpAddr>,
    login_email: Limit<String>,
    register_ip: Limit<IpAddr>,
    register_email: Limit<String>,
}

impl Limits {
    pub(crate) fn new(config: &Config) -> Self {
        let per_second = |rps: u32| {
            NonZeroU32::new(rps).map(|rps| {
                let burst = NonZeroU32::new(config.rate_limit_burst.max(rps.get())).unwrap_or(rps);
                Quota::per_second(rps).allow_burst(burst)
            })
        };
        let per_minute = |n: u32| NonZeroU32::new(n).map(Quota::per_minute);
        Self {
            ip: Limit::new(
                per_second(config.rate_limit_rps),
                "requests from this address",
            ),
            user: Limit::new(
                per_second(config.user_rate_limit_rps),
                "requests of this user",
            ),
            login_ip: Limit::new(
                per_minute(config.login_rate_per_min),
                "logins from this address",
            ),
            login_email: Limit::new(
                per_minute(config.login_rate_per_min),
                "logins for this email",
            ),
            register_ip: Limit::new(
                per_minute(config.register_rate_per_min),
                "registrations from this address",
            ),
            register_email: Limit::new(
                per_minute(config.register_rate_per_min),
                "registrations for this email",
            ),
        }
    }

    pub(crate) fn check_user(&self, user: Uuid) -> Result<(), RateLimited> {
        self.user.check(&user)
    }

    /// Both the address and the email count, so neither many emails from one address nor one
    /// email from many addresses gets more tries.
    pub(crate) fn check_login(&self, ip: IpAddr, email: &str) -> Result<(), RateLimited> {
        self.login_ip.check(&ip)?;
        self.login_email.check(&normalise(email))
    }

    pub(crate) fn check_register(&self, ip: IpAddr, email: &str) -> Result<(), RateLimited> {
        self.register_ip.check(&ip)?;
        self.register_email.check(&normalise(email))
    }

    /// Drops the state of keys that are back to a full allowance.
    pub(crate) fn forget_idle(&self) {
        self.ip.forget_idle();
        self.user.forget_idle();
        self.login_ip.forget_idle();
        self.login_email.forget_idle();
        self.register_ip.forget_idle();
        self.register_email.forget_idle();
    }
}

/// An email as identity compares them: trimmed and lower-cased.
fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A refused request: 429 with `Retry-After`.
#[derive(Debug)]
pub(crate) struct RateLimited {
    retry_after: Duration,
    what: &'static str,
}

impl RateLimited {
    fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl IntoResponse for RateLimited {
    fn into_response(self) -> Response {
        let secs = self.retry_after_secs();
        let message = format!("too many {}; retry in {secs} s", self.what);
        let error = ServiceError::new(ErrorCode::RateLimited, message)
            .with_details(serde_json::json!({ "retry_after": secs }));
        let mut response = ApiError::from(error).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        response
    }
}

/// The client's address: the peer, or with `BOURSE_TRUST_FORWARDED_FOR` the last
/// `X-Forwarded-For` entry (the one our proxy appended; earlier ones are the client's word).
pub(crate) fn client_ip(config: &Config, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
    if config.trust_forwarded_for
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse().ok())
    {
        return ip;
    }
    peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip())
}

/// The peer address of a request, when the server was started with connect info.
pub(crate) fn peer_of(request: &Request) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// The per-IP limit, checked on every route by [`crate::auth::admit`]; the client IP is recorded
/// on the request for handlers.
pub(crate) fn per_ip(state: &AppState, request: &mut Request) -> Result<(), RateLimited> {
    let ip = client_ip(&state.config, peer_of(request), request.headers());
    state.limits.ip.check(&ip)?;
    request.extensions_mut().insert(ClientIp(ip));
    Ok(())
}

/// The client IP as [`per_ip`] decided it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub(crate) IpAddr);

#[cfg(test)]
mod tests {
    use super::*;

    fn config(login: u32) -> Config {
        Config {
            login_rate_per_min: login,
            ..Config::default()
        }
    }

    #[test]
    fn logins_trip_per_email_whatever_the_case_and_per_address() {
        let limits = Limits::new(&config(2));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(limits.check_login(ip, "A@x.io").is_ok());
        assert!(
            limits
                .check_login("203.0.113.8".parse().unwrap(), " a@X.io")
                .is_ok()
        );
        let err = limits
            .check_login("203.0.113.9".parse().unwrap(), "a@x.io")
            .unwrap_err();
        assert!(err.retry_after_secs() >= 1);
        assert!(limits.check_login(ip, "b@x.io").is_ok());
        assert!(
            limits.check_login(ip, "c@x.io").is_err(),
            "third from one address"
        );
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = Limits::new(&config(0));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..100 {
            assert!(limits.check_login(ip, "a@x.io").is_ok());
        }
    }

    #[test]
    fn forwarded_for_is_read_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 198.51.100.4"),
        );
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 4000)));
        let untrusted = Config::default();
        assert_eq!(
            client_ip(&untrusted, peer, &headers).to_string(),
            "10.0.0.1"
        );
        let trusted = Config {
            trust_forwarded_for: true,
            ..Config::default()
        };
        assert_eq!(
            client_ip(&trusted, peer, &headers).to_string(),
            "198.51.100.4"
        );
    }
}
