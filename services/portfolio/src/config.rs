//! The portfolio service's configuration: flags with environment fallbacks (this is `--help`).

#[derive(Debug, Clone, clap::Args)]
#[group(id = "portfolio")]
pub struct Config {
    /// Portfolios one user may have.
    #[arg(long, env = "BOURSE_PORTFOLIOS_PER_USER", default_value_t = Config::PORTFOLIOS_PER_USER)]
    pub portfolios_per_user: i64,
}

impl Config {
    const PORTFOLIOS_PER_USER: i64 = 100;
}

impl Default for Config {
    /// The defaults of the flags: what tests and embedders start from.
    fn default() -> Self {
        Self {
            portfolios_per_user: Self::PORTFOLIOS_PER_USER,
        }
    }
}
