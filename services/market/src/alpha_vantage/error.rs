//! What can go wrong talking to Alpha Vantage. The API key never appears in any of these:
//! transport errors are stripped of their URL, and response bodies are scrubbed of the key
//! before any error quotes them.

/// A failed Alpha Vantage call. Each variant is a kind the feed can act on: back off on
/// [`RateLimited`](Self::RateLimited) and [`Information`](Self::Information), skip the symbol on
/// [`NotFound`](Self::NotFound), retry later on the rest.
#[derive(Debug, thiserror::Error)]
pub enum AlphaVantageError {
    /// The client was configured wrongly (empty key, zero rate, unusable base URL).
    #[error("invalid Alpha Vantage configuration: {0}")]
    Config(String),
    /// Alpha Vantage knows no such symbol (an empty `"Global Quote": {}`).
    #[error("Alpha Vantage has no quote for symbol {symbol}")]
    NotFound { symbol: String },
    /// `"Error Message"`: an invalid call, most often an unknown symbol or function.
    #[error("Alpha Vantage refused the request: {0}")]
    InvalidRequest(String),
    /// `"Note"`: the per-minute call frequency was exceeded.
    #[error("Alpha Vantage rate limit reached: {0}")]
    RateLimited(String),
    /// `"Information"`: a premium-only endpoint, or the plan's daily limit is used up.
    #[error("Alpha Vantage declined the request: {0}")]
    Information(String),
    /// An HTTP status outside 2xx; `body` is the start of the response, for the log.
    #[error("Alpha Vantage answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    /// The request did not complete: DNS, connect, TLS, timeout, or a broken body.
    #[error("Alpha Vantage could not be reached")]
    Transport(#[source] reqwest::Error),
    /// A 200 response that is not the documented JSON.
    #[error("unexpected Alpha Vantage response: {0}")]
    Decode(String),
}
