//! The market service's configuration: flags with environment fallbacks (this is `--help`).

use std::time::Duration;

use contracts::Secret;

/// Which price feed this instance runs. Run exactly one feed per deployment: scale the request
/// handling out with `--price-feed off` on the extra instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FeedKind {
    /// Alpha Vantage when an API key is set, the simulation otherwise.
    Auto,
    /// A seeded random walk per symbol.
    Simulated,
    /// Alpha Vantage GLOBAL_QUOTE polling, within the plan's rate limit.
    AlphaVantage,
    /// No feed: this instance only answers requests.
    Off,
}

#[derive(Debug, Clone, clap::Args)]
#[group(id = "market")]
pub struct Config {
    /// The price feed to run.
    #[arg(long, env = "BOURSE_PRICE_FEED", value_enum, default_value = "auto")]
    pub price_feed: FeedKind,

    /// Time between two ticks of the simulated feed (e.g. `5s`, `250ms`).
    #[arg(long, env = "BOURSE_FEED_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub feed_interval: Duration,

    /// Seed of the simulated feed, for reproducible prices (random when unset).
    #[arg(long, env = "BOURSE_FEED_SEED")]
    pub feed_seed: Option<u64>,

    /// Alpha Vantage API key; enables the Alpha Vantage feed, symbol search and history backfill.
    /// A `Secret`: the config's `Debug` (and so any log of it) never shows it.
    #[arg(long, env = "ALPHA_VANTAGE_API_KEY", hide_env_values = true)]
    pub alpha_vantage_api_key: Option<Secret>,

    /// Alpha Vantage base URL (tests point it at a local server).
    #[arg(long, env = "BOURSE_ALPHA_VANTAGE_URL", default_value = crate::alpha_vantage::AlphaVantageConfig::DEFAULT_BASE_URL)]
    pub alpha_vantage_url: String,

    /// Alpha Vantage calls per minute; the free tier allows 5.
    #[arg(long, env = "BOURSE_ALPHA_VANTAGE_RPM", default_value_t = crate::alpha_vantage::AlphaVantageConfig::FREE_TIER_REQUESTS_PER_MINUTE)]
    pub alpha_vantage_requests_per_minute: u32,
}

impl Default for Config {
    /// No feed and no Alpha Vantage: what tests and embedders start from.
    fn default() -> Self {
        Self {
            price_feed: FeedKind::Off,
            feed_interval: Duration::from_secs(5),
            feed_seed: None,
            alpha_vantage_api_key: None,
            alpha_vantage_url: crate::alpha_vantage::AlphaVantageConfig::DEFAULT_BASE_URL
                .to_owned(),
            alpha_vantage_requests_per_minute:
                crate::alpha_vantage::AlphaVantageConfig::FREE_TIER_REQUESTS_PER_MINUTE,
        }
    }
}

impl Config {
    /// The feed that will actually run, `Auto` resolved.
    pub fn effective_feed(&self) -> FeedKind {
        match (self.price_feed, self.alpha_vantage_api_key.is_some()) {
            (FeedKind::Auto, true) => FeedKind::AlphaVantage,
            (FeedKind::Auto, false) => FeedKind::Simulated,
            (other, _) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_api_key() {
        let config = Config {
            alpha_vantage_api_key: Some(Secret::new("AV-KEY-1234")),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("AV-KEY-1234"), "{shown}");
        assert_eq!(config.effective_feed(), FeedKind::Off);
    }

    #[test]
    fn the_binary_describes_itself_and_takes_the_shared_flags() {
        let help = bus::kit::parse::<crate::App, _, _>(["market", "--help"])
            .expect_err("--help stops parsing")
            .to_string();
        assert!(
            help.starts_with(<crate::App as bus::kit::Service>::DESCRIPTION),
            "{help}"
        );
        for flag in ["--nats-url", "--database-url", "--price-feed"] {
            assert!(help.contains(flag), "{flag}: {help}");
        }
        let (platform, config) = bus::kit::parse::<crate::App, _, _>([
            "market",
            "--price-feed",
            "off",
            "--database-url",
            "postgres://db/x",
        ])
        .unwrap();
        assert_eq!(config.price_feed, FeedKind::Off);
        assert_eq!(platform.database_url, "postgres://db/x");
    }
}
