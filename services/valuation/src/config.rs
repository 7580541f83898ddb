//! The valuation worker's configuration: flags with environment fallbacks (this is `--help`).

use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
#[group(id = "valuation")]
pub struct Config {
    /// How long ticks gather before the portfolios they touch are revalued: a burst of ticks
    /// within it revalues each portfolio once (e.g. `100ms`).
    #[arg(long, env = "BOURSE_VALUATION_COALESCE", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub valuation_coalesce: Duration,
}

impl Config {
    const COALESCE: Duration = Duration::from_millis(100);
}

impl Default for Config {
    /// The defaults of the flags: what tests and embedders start from.
    fn default() -> Self {
        Self {
            valuation_coalesce: Self::COALESCE,
        }
    }
}
