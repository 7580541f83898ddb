//! Building and running the portfolio service through the service kit: the same code runs in
//! its own binary, in `bourse dev`, in the bench and in tests.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use bus::{
    Bus, Clock, RunningService,
    consumer::{ConsumerSpec, DurableConsumer},
    kit::{Database, Deps, Service},
    outbox::Relay,
};
use contracts::{Event, identity::UserDeleted, market::Quotes, portfolio::PortfolioCreated};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    desk::{self, Desk},
    handlers,
    market::Market,
};

/// The durable consumer of user deletions.
const USERS_DURABLE: &str = "portfolio-user-deleted";

/// What every handler gets.
pub struct AppState {
    pub db: PgPool,
    pub bus: Bus,
    pub market: Market,
    /// Today, for dates of trades and the checks of activity dates.
    pub clock: Clock,
    pub config: Config,
    /// Where trades at market are executed, in batches.
    pub desk: Desk,
}

impl AppState {
    /// Now, to the microsecond Postgres keeps: a time answered at once and the same time read
    /// back later (a retried order) are equal.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }
}

/// A started portfolio service.
pub struct App {
    service: RunningService,
    /// The trade desk runs from the build on (trades are answered as soon as the endpoints
    /// are); it stops after the service, or when the app is dropped unrun.
    desk: tokio::task::JoinHandle<()>,
    desk_stop: tokio_util::sync::DropGuard,
    relay: Relay,
    users: DurableConsumer<UserDeleted>,
    state: Arc<AppState>,
}

impl Service for App {
    const NAME: &'static str = "portfolio";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Portfolios, activities, trades at market, positions and performance";
    const DATABASE: Option<Database> = Some(Database {
        schema: crate::SCHEMA,
        migrator: &crate::MIGRATOR,
    });
    type Config = Config;

    fn check(config: &Config) -> anyhow::Result<()> {
        anyhow::ensure!(
            config.portfolios_per_user >= 1,
            "BOURSE_PORTFOLIOS_PER_USER must be at least 1"
        );
        Ok(())
    }

    /// Registers the `portfolio` service on the bus and binds the user-deletion consumer.
    async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        deps.bus
            .stream(PortfolioCreated::STREAM)
            .await
            .context("the stream PORTFOLIO is missing; provision the streams")?;
        let quotes = deps
            .bus
            .bucket::<Quotes>()
            .await
            .context("the KV bucket `quotes` is missing; provision the streams")?;
        let db = deps.db()?;
        let (desk, orders) = Desk::new();
        let state = Arc::new(AppState {
            db: db.clone(),
            bus: deps.bus.clone(),
            market: Market::new(deps.bus.clone(), quotes),
            clock: deps.clock.clone(),
            config,
            desk,
        });
        let users = DurableConsumer::bind(
            &deps.bus,
            ConsumerSpec::new(UserDeleted::STREAM, USERS_DURABLE, &UserDeleted::wildcard()),
        )
        .await
        .context("binding the consumer of user deletions")?;
        let service = deps
            .service::<Self>()
            .state(state.clone())
            .endpoint(handlers::portfolio::create)
            .endpoint(handlers::portfolio::list)
            .endpoint(handlers::portfolio::get)
            .endpoint(handlers::portfolio::update)
            .endpoint(handlers::portfolio::delete)
            .endpoint(handlers::activity::record)
            .endpoint(handlers::activity::list)
            .endpoint(handlers::activity::delete)
            .endpoint(handlers::transfer::import)
            .endpoint(handlers::transfer::export)
            .endpoint(handlers::trade::execute)
            .endpoint(handlers::trade::list)
            .endpoint(handlers::performance::positions)
            .endpoint(handlers::performance::performance)
            .endpoint(handlers::performance::series)
            .endpoint(handlers::holding::list)
            .start()
            .await?;
        let desk_stop = CancellationToken::new();
        let desk = tokio::spawn(desk::run(state.clone(), orders, desk_stop.clone()));
        Ok(Self {
            service,
            desk,
            desk_stop: desk_stop.drop_guard(),
            relay: Relay::new(db, deps.bus),
            users,
            state,
        })
    }

    /// Answers requests, publishes the outbox, follows user deletions and market's history
    /// announcements (for the closes it caches) until `shutdown`;
    /// then stops taking requests, lets those in flight finish and drains the outbox once
    /// more, so what they wrote is published before the process ends.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let background = CancellationToken::new();
        let relay = tokio::spawn(self.relay.clone().run(background.clone()));
        let history = tokio::spawn(self.state.market.clone().follow_history(background.clone()));
        let state = self.state.clone();
        let users = tokio::spawn(self.users.run(
            move |delivery| {
                let state = state.clone();
                async move { handlers::user::deleted(&state, delivery).await }
            },
            background.clone(),
        ));
        shutdown.cancelled().await;
        self.service.stop(Duration::from_secs(5)).await;
        background.cancel();
        // The desk stops after the service: requests in flight got their trades.
        drop(self.desk_stop);
        self.desk.await.context("the trade desk failed")?;
        relay.await.context("the outbox relay failed")?;
        users.await.context("the user-deletion consumer failed")?;
        history
            .await
            .context("following price history announcements failed")?;
        if let Err(err) = self.relay.drain().await {
            tracing::warn!(error = %err, "could not drain the outbox at shutdown; the next start will");
        }
        Ok(())
    }
}

impl App {
    /// What the handlers share.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// The outbox relay, for tests that drive it step by step.
    pub fn relay(&self) -> &Relay {
        &self.relay
    }
}
