//! Building and running the identity service: the same code runs in its own binary, in
//! `bourse dev` and in tests.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use bus::{Bus, RunningService, outbox::Relay};
use chrono::Utc;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, handlers, password::Passwords, store};

/// How often refresh tokens past their expiry are deleted.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

/// What every handler gets.
#[derive(Clone)]
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
}

impl App {
    /// Checks the configuration (refusing a missing or weak JWT secret unless
    /// `--allow-weak-dev-secret`), then registers the `identity` service on the bus. `pool`
    /// must be migrated with [`crate::MIGRATOR`] and bound to [`crate::SCHEMA`]; the streams
    /// must be provisioned.
    pub async fn build(config: Config, bus: Bus, pool: PgPool) -> anyhow::Result<Self> {
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
        bus.stream("IDENTITY")
            .await
            .context("the stream IDENTITY is missing; provision the streams")?;
        let passwords = Passwords::new(config.password_hashing)?;
        passwords.warm_up().await?;
        let state = AppState {
            db: pool.clone(),
            bus: bus.clone(),
            keys: Arc::new(keys),
            passwords: Arc::new(passwords),
            config: Arc::new(config),
        };
        let relay = Relay::new(pool.clone(), bus.clone());
        let service = register(&bus, state).await?;
        Ok(Self {
            service,
            relay,
            db: pool,
        })
    }

    /// Answers requests, publishes the outbox and deletes expired refresh tokens until
    /// `shutdown`; then stops taking requests, lets those in flight finish and drains the outbox
    /// once more, so what they wrote is published before the process ends.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let background = CancellationToken::new();
        let relay = tokio::spawn(self.relay.clone().run(background.clone()));
        let cleanup = tokio::spawn(clean_up_expired_tokens(self.db.clone(), background.clone()));
        shutdown.cancelled().await;
        self.service.stop(Duration::from_secs(5)).await;
        background.cancel();
        relay.await.context("the outbox relay failed")?;
        cleanup.await.context("the refresh-token clean-up failed")?;
        loop {
            match self.relay.try_run_once().await {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "could not drain the outbox at shutdown; the next start will");
                    break;
                }
            }
        }
        Ok(())
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

async fn register(bus: &Bus, state: AppState) -> anyhow::Result<RunningService> {
    let s = state;
    let service = bus
        .service(
            "identity",
            env!("CARGO_PKG_VERSION"),
            "Accounts, roles, sessions and the login audit",
        )
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::register::register(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::session::login(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::session::refresh(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::session::logout(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::user::get(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::user::update(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::user::delete(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::admin::list(s.clone(), ctx, req)
        })
        .endpoint(move |ctx, req| handlers::admin::set_roles(s.clone(), ctx, req))
        .start()
        .await?;
    Ok(service)
}
