//! The identity service's configuration: flags with environment fallbacks (this is `--help`).

use std::time::Duration;

use anyhow::Context;

use crate::password::PasswordHashing;

#[derive(Debug, Clone, clap::Args)]
#[group(id = "identity")]
pub struct Config {
    /// The access-token keys, issuer and audience (`--jwt-*`). The gateway has the same flags;
    /// in `bourse dev` they are declared once and both read them. Without a secret, the service
    /// refuses to start.
    #[command(flatten, next_help_heading = "Access tokens")]
    pub token: auth::TokenConfig,

    /// Lifetime of an access token (e.g. `15m`). Short, because it cannot be revoked.
    #[arg(long, env = "BOURSE_ACCESS_TOKEN_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub access_token_ttl: Duration,

    /// Lifetime of a refresh token (e.g. `30days`); every refresh answers a new one.
    #[arg(long, env = "BOURSE_REFRESH_TOKEN_TTL", default_value = "30days", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: Duration,

    /// Make the first account registered an admin (no account exists yet). `bourse dev` turns it
    /// on so a newcomer can try everything; elsewhere use `bourse user create --admin`.
    #[arg(long, env = "BOURSE_FIRST_USER_ADMIN", value_parser = clap::builder::FalseyValueParser::new())]
    pub first_user_admin: bool,

    /// argon2id cost. Not a flag: every deployment hashes with at least OWASP's parameters;
    /// only tests lower it, to stay fast.
    #[arg(skip)]
    pub password_hashing: PasswordHashing,
}

impl Config {
    pub const MIN_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(60);
    pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
    pub const MAX_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

    /// Defaults with `token`: what tests and embedders start from.
    pub fn new(token: auth::TokenConfig) -> Self {
        Self {
            token,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            first_user_admin: false,
            password_hashing: PasswordHashing::default(),
        }
    }

    /// Checks the whole configuration and makes the signing keys: refuses a missing or weak JWT
    /// secret (unless `--allow-weak-dev-secret`) and lifetimes that make no sense. `main` calls
    /// it before connecting to anything, so a bad configuration fails at once.
    pub fn signing_keys(&self) -> anyhow::Result<auth::TokenKeys> {
        self.check().map_err(anyhow::Error::msg)?;
        auth::TokenKeys::signing(&self.token).context("cannot sign access tokens")
    }

    /// Refuses lifetimes that make no sense together.
    pub fn check(&self) -> Result<(), String> {
        if !(Self::MIN_ACCESS_TOKEN_TTL..=Self::MAX_ACCESS_TOKEN_TTL)
            .contains(&self.access_token_ttl)
        {
            return Err("--access-token-ttl must be between 1 minute and 1 day".into());
        }
        if self.refresh_token_ttl <= self.access_token_ttl
            || self.refresh_token_ttl > Self::MAX_REFRESH_TOKEN_TTL
        {
            return Err(
                "--refresh-token-ttl must be longer than the access token's and at most a year"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        bus::kit::parse::<crate::App, _, _>(args).unwrap().1
    }

    #[test]
    fn the_token_flags_are_parsed_beside_the_service_flags() {
        let config = parse(&["identity", "--jwt-issuer", "me", "--first-user-admin"]);
        assert_eq!(config.token.jwt_issuer, "me");
        assert!(config.first_user_admin);
    }

    #[test]
    fn defaults_are_fifteen_minutes_thirty_days_and_owasp_hashing() {
        let config = parse(&["identity"]);
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
        assert_eq!(
            config.refresh_token_ttl,
            Duration::from_secs(30 * 24 * 3600)
        );
        assert!(!config.first_user_admin);
        assert_eq!(config.password_hashing, PasswordHashing::OWASP);
        assert!(config.check().is_ok());
    }

    #[test]
    fn lifetimes_out_of_range_are_refused() {
        let config = parse(&["identity", "--access-token-ttl", "2days"]);
        assert!(config.check().is_err());
        let config = parse(&["identity", "--refresh-token-ttl", "5m"]);
        assert!(config.check().is_err());
    }
}
