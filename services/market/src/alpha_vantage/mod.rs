//! A client for the Alpha Vantage market data API (<https://www.alphavantage.co/documentation/>),
//! the price feed's real source when an API key is configured.
//!
//! - this file: [`AlphaVantageConfig`], and [`AlphaVantage`] with one method per endpoint used;
//! - [`error`]: [`AlphaVantageError`], one variant per way a call fails;
//! - [`wire`]: the JSON wire format and its translation into our types.
//!
//! Every call first waits on a rate limiter sized to the plan (5 calls a minute on the free
//! tier), so the feed slows down instead of being refused. The API key travels as the `apikey`
//! query parameter, as Alpha Vantage requires; it is kept out of every error and log line.

mod error;
mod wire;

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use contracts::market::{DailyClose, Ticker};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Url;
use serde_json::Value;

pub use error::AlphaVantageError;
pub use wire::{GlobalQuote, SymbolMatch};

/// Alpha Vantage answers in well under a second; a call that takes 10 s is failed and retried
/// on a later tick rather than holding the feed up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A full daily history is about 1 MB; anything far larger is not Alpha Vantage talking.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How much of a non-2xx body an error keeps for the log.
const MAX_STATUS_BODY_CHARS: usize = 200;

/// Where and how to reach Alpha Vantage.
#[derive(Clone)]
pub struct AlphaVantageConfig {
    /// Scheme and host, without `/query`; tests point it at a local server.
    pub base_url: String,
    pub api_key: String,
    /// The plan's quota; calls beyond it wait.
    pub requests_per_minute: u32,
}

impl AlphaVantageConfig {
    pub const DEFAULT_BASE_URL: &'static str = "https://www.alphavantage.co";
    /// The free tier's per-minute limit.
    pub const FREE_TIER_REQUESTS_PER_MINUTE: u32 = 5;

    /// The production endpoint at the free tier's rate.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.to_owned(),
            api_key: api_key.into(),
            requests_per_minute: Self::FREE_TIER_REQUESTS_PER_MINUTE,
        }
    }
}

/// Hand-written so that the key never reaches a log through `{:?}`.
impl fmt::Debug for AlphaVantageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlphaVantageConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("requests_per_minute", &self.requests_per_minute)
            .finish()
    }
}

/// The Alpha Vantage client. Cheap to share behind an `Arc`: all calls take `&self` and share
/// one connection pool and one rate limiter.
pub struct AlphaVantage {
    http: reqwest::Client,
    query_url: Url,
    api_key: String,
    limiter: DefaultDirectRateLimiter,
}

impl fmt::Debug for AlphaVantage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlphaVantage")
            .field("query_url", &self.query_url.as_str())
            .finish_non_exhaustive()
    }
}

impl AlphaVantage {
    /// Checks the configuration and builds the HTTP client.
    pub fn new(config: AlphaVantageConfig) -> Result<Self, AlphaVantageError> {
        let api_key = config.api_key.trim().to_owned();
        if api_key.is_empty() {
            return Err(AlphaVantageError::Config("the API key is empty".into()));
        }
        let per_minute = NonZeroU32::new(config.requests_per_minute).ok_or_else(|| {
            AlphaVantageError::Config("requests_per_minute must be at least 1".into())
        })?;
        let query_url = query_url(&config.base_url)?;
        // A burst of one spaces calls evenly, 60/n seconds apart. Governor's default burst of
        // n would allow up to 2n-1 calls within one minute, which the free tier refuses.
        let quota = Quota::per_minute(per_minute).allow_burst(NonZeroU32::MIN);
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("bourse-market/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| AlphaVantageError::Transport(error.without_url()))?;
        Ok(Self {
            http,
            query_url,
            api_key,
            limiter: RateLimiter::direct(quota),
        })
    }

    /// The latest price, previous close and trading day of `symbol` (`GLOBAL_QUOTE`).
    #[tracing::instrument(name = "market.alpha_vantage.global_quote", skip_all, fields(symbol = %symbol))]
    pub async fn global_quote(&self, symbol: &Ticker) -> Result<GlobalQuote, AlphaVantageError> {
        let params = [("function", "GLOBAL_QUOTE"), ("symbol", symbol.as_str())];
        self.call(&params)
            .await
            .and_then(|body| wire::global_quote(symbol, body))
    }

    /// Listings whose symbol or name match `keywords`, best first (`SYMBOL_SEARCH`).
    #[tracing::instrument(name = "market.alpha_vantage.symbol_search", skip_all)]
    pub async fn symbol_search(
        &self,
        keywords: &str,
    ) -> Result<Vec<SymbolMatch>, AlphaVantageError> {
        let params = [("function", "SYMBOL_SEARCH"), ("keywords", keywords)];
        self.call(&params).await.and_then(wire::symbol_matches)
    }

    /// Daily closes of `symbol`, oldest first (`TIME_SERIES_DAILY`): the last 100 trading days,
    /// or the whole history when `full`.
    #[tracing::instrument(name = "market.alpha_vantage.daily_closes", skip_all, fields(symbol = %symbol, full))]
    pub async fn daily_closes(
        &self,
        symbol: &Ticker,
        full: bool,
    ) -> Result<Vec<DailyClose>, AlphaVantageError> {
        let output_size = if full { "full" } else { "compact" };
        let params = [
            ("function", "TIME_SERIES_DAILY"),
            ("symbol", symbol.as_str()),
            ("outputsize", output_size),
        ];
        self.call(&params).await.and_then(wire::daily_closes)
    }

    /// One rate-limited GET of `/query`: the JSON body, with the in-band error keys and HTTP
    /// failures already turned into errors.
    async fn call(&self, params: &[(&str, &str)]) -> Result<Value, AlphaVantageError> {
        self.limiter.until_ready().await;
        let response = self
            .http
            .get(self.query_url.clone())
            .query(params)
            .query(&[("apikey", self.api_key.as_str())])
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = read_body(response).await?;
        tracing::debug!(
            status = status.as_u16(),
            bytes = bytes.len(),
            "alpha vantage answered"
        );
        // Scrubbed before anything reads it, so no error quoting the body (an error message
        // echoing the request, an HTML error page) can carry the key into a log.
        let text = String::from_utf8_lossy(&bytes).replace(&self.api_key, "[redacted]");
        if !status.is_success() {
            return Err(AlphaVantageError::Status {
                status: status.as_u16(),
                body: text.chars().take(MAX_STATUS_BODY_CHARS).collect(),
            });
        }
        let body: Value = serde_json::from_str(&text)
            .map_err(|error| AlphaVantageError::Decode(format!("the body is not JSON: {error}")))?;
        wire::check_error_keys(&body)?;
        Ok(body)
    }
}

/// `<base_url>/query`, refusing anything that is not an http(s) URL.
fn query_url(base_url: &str) -> Result<Url, AlphaVantageError> {
    let invalid =
        || AlphaVantageError::Config(format!("base_url {base_url:?} is not an http(s) URL"));
    let url = Url::parse(&format!("{}/query", base_url.trim().trim_end_matches('/')))
        .map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid());
    }
    Ok(url)
}

/// Reads the body chunk by chunk, so an endless or huge response fails instead of filling memory.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, AlphaVantageError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(AlphaVantageError::Decode(format!(
                "the body is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest puts the request URL, and with it the `apikey` parameter, into its errors.
fn transport(error: reqwest::Error) -> AlphaVantageError {
    AlphaVantageError::Transport(error.without_url())
}

#[cfg(test)]
mod tests;
