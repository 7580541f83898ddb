//! The portfolio service's configuration: flags with environment fallbacks (this is `--help`).

#[derive(Debug, Clone, Default, clap::Args)]
#[group(id = "portfolio")]
pub struct Config {
    /// Portfolios one user may have.
    #[arg(long, env = "BOURSE_PORTFOLIOS_PER_USER", default_value_t = 100)]
    pub portfolios_per_user: i64,
}
