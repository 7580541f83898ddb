//! Building and running the identity service through the service kit: the same code runs in its
//! own binary, in `bourse dev`, in the bench and in tests.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use bus::{
    Bus, RunningService,
    kit::{Database, Deps, Service},
    outbox::Relay,
};
use chrono::Utc;
use contracts::{Event, identity::UserRegistered};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, handlers, password::Passwords, store};

/// How often refresh tokens past their expiry are deleted.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

/// What every handler gets.
pub struct AppState {
    pub db: PgPool,
    pub bus: Bus,
    pub keys: Arc<auth::TokenKeys>,
    pub passwords: Arc<Passwords>,
    pub config: Arc<Config>,
}

/// A started identity service.
pub struct App {
    service: RunningService,
    relay: Relay,
    db: PgPool,
    passwords: Arc<Passwords>,
}

impl Service for App {
    const NAME: &'static str = "identity";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Accounts, roles, sessions and the login audit";
    const DATABASE: Option<Database> = Some(Database {
        schema: crate::SCHEMA,
        migrator: &crate::MIGRATOR,
    });
    /// So that a newcomer's first account in `bourse dev` can try everything, admin routes
    /// included.
    const DEV_DEFAULTS: &'static [(&'static str, &'static str)] = &[("first_user_admin", "true")];
    type Config = Config;

    /// Refuses a missing or weak JWT secret (unless `--allow-weak-dev-secret`) and lifetimes
    /// that make no sense, before anything is connected.
    fn check(config: &Config) -> anyhow::Result<()> {
        config.signing_keys().map(drop)
    }

    /// Registers the `identity` service on the bus.
    async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        let keys = config.signing_keys()?;
        if config.token.uses_dev_secret() {
            tracing::warn!(
                "signing access tokens with the public development secret: anyone can forge them"
            );
        } else if config.token.allow_weak_dev_secret {
            tracing::warn!("--allow-weak-dev-secret is on: for development only");
        }
        if config.password_hashing != crate::PasswordHashing::OWASP {
            tracing::warn!(cost = ?config.password_hashing, "password hashing below OWASP's parameters: for tests only");
        }
        deps.bus
            .stream(UserRegistered::STREAM)
            .await
            .with_context(|| {
                format!(
                    "the stream {} is missing; provision the streams",
                    UserRegistered::STREAM
                )
            })?;
        let passwords = Arc::new(Passwords::new(config.password_hashing)?);
        passwords.warm_up().await?;
        let db = deps.db()?;
        let state = AppState {
            db: db.clone(),
            bus: deps.bus.clone(),
            keys: Arc::new(keys),
            passwords: passwords.clone(),
            config: Arc::new(config),
        };
        let service = deps
            .service::<Self>()
            .state(Arc::new(state))
            .endpoint(handlers::register::register)
            .endpoint(handlers::session::login)
            .endpoint(handlers::session::refresh)
            .endpoint(handlers::session::logout)
            .endpoint(handlers::user::get)
            .endpoint(handlers::user::update)
            .endpoint(handlers::user::delete)
            .endpoint(handlers::admin::list)
            .endpoint(handlers::admin::set_roles)
            .start()
            .await?;
        Ok(Self {
            service,
            relay: Relay::new(db.clone(), deps.bus),
            db,
            passwords,
        })
    }

    /// Answers requests, publishes the outbox and deletes expired refresh tokens until
    /// `shutdown`; then stops taking requests, lets those in flight finish and drains the outbox
    /// once more, so what they wrote is published before the process ends.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let background = CancellationToken::new();
        let relay = tokio::spawn(self.relay.clone().run(background.clone()));
        let cleanup = tokio::spawn(clean_up_expired_tokens(self.db.clone(), background.clone()));
        shutdown.cancelled().await;
        self.service.stop(Duration::from_secs(5)).await;
        background.cancel();
        relay.await.context("the outbox relay failed")?;
        cleanup.await.context("the refresh-token clean-up failed")?;
        if let Err(err) = self.relay.drain().await {
            tracing::warn!(error = %err, "could not drain the outbox at shutdown; the next start will");
        }
        Ok(())
    }
}

impl App {
    /// The service's password hasher: tests read its count of verifications.
    pub fn passwords(&self) -> Arc<Passwords> {
        self.passwords.clone()
    }
}

async fn clean_up_expired_tokens(db: PgPool, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(CLEANUP_INTERVAL) => {}
        }
        let deleted = async {
            store::refresh_token::delete_expired(&mut *db.acquire().await?, Utc::now()).await
        };
        match deleted.await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "expired refresh tokens deleted"),
            Err(err) => tracing::warn!(error = %err, "deleting expired refresh tokens failed"),
        }
    }
}
