//! Building and running the assistant through the service kit.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use bus::{
    Bus, Clock, RunningService,
    consumer::{ConsumerSpec, DurableConsumer},
    kit::{Database, Deps, Service},
};
use contracts::{Event, assistant::ChatEvent, identity::UserDeleted};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    generation::Generations,
    handlers::{self, Handlers},
    providers::Providers,
};

/// The durable consumer of user deletions.
const USERS_DURABLE: &str = "assistant-user-deleted";

/// What the handlers and the generations share.
#[derive(Debug)]
pub struct AppState {
    pub db: PgPool,
    pub bus: Bus,
    pub clock: Clock,
    pub config: Config,
    pub providers: Providers,
    pub generations: Generations,
    /// This instance's id, which its generation ids embed.
    pub instance: String,
}

impl AppState {
    /// Now, to the microsecond Postgres keeps.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }
}

pub struct App {
    service: RunningService,
    users: DurableConsumer<UserDeleted>,
    state: Arc<AppState>,
}

impl Service for App {
    const NAME: &'static str = "assistant";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "AI chat over the user's own portfolios, replies streamed as events, with tools";
    const DATABASE: Option<Database> = Some(Database {
        schema: crate::SCHEMA,
        migrator: &crate::MIGRATOR,
    });
    type Config = Config;

    fn check(config: &Config) -> anyhow::Result<()> {
        anyhow::ensure!(
            config.assistant_concurrent >= 1 && config.assistant_max_tokens >= 1,
            "BOURSE_ASSISTANT_CONCURRENT and BOURSE_ASSISTANT_MAX_TOKENS must be at least 1"
        );
        Ok(())
    }

    async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        deps.bus
            .stream(ChatEvent::STREAM)
            .await
            .context("the stream CHAT is missing; provision the streams")?;
        let db = deps.db()?;
        // Replies left half-written by an instance that went away are failed, not streaming
        // forever. Only those older than a minute: another instance may be writing newer ones.
        let abandoned = deps.clock.now() - chrono::Duration::minutes(1);
        let failed =
            crate::store::message::fail_abandoned(&mut *db.acquire().await?, abandoned).await?;
        if failed > 0 {
            tracing::warn!(failed, "replies left half-written were marked failed");
        }
        let providers = Providers::new(&config);
        // Learns the models (and the default) now; a provider that is down is retried later.
        providers.models().await;
        let state = Arc::new(AppState {
            db,
            bus: deps.bus.clone(),
            clock: deps.clock.clone(),
            config,
            providers,
            generations: Generations::default(),
            instance: contracts::terminal::new_instance_id(),
        });
        let users = DurableConsumer::bind(
            &deps.bus,
            ConsumerSpec::new(UserDeleted::STREAM, USERS_DURABLE, &UserDeleted::wildcard()),
        )
        .await
        .context("binding the consumer of user deletions")?;
        let instance = state.instance.clone();
        let service = deps
            .service::<Self>()
            .state(Arc::new(Handlers(state.clone())))
            .endpoint(handlers::conversation::list)
            .endpoint(handlers::conversation::create)
            .endpoint(handlers::conversation::get)
            .endpoint(handlers::conversation::update)
            .endpoint(handlers::conversation::delete)
            .endpoint(handlers::conversation::search)
            .endpoint(handlers::conversation::export)
            .endpoint(handlers::message::list)
            .endpoint(handlers::message::send)
            .endpoint(handlers::message::regenerate)
            .routed_endpoint(&instance, handlers::message::stop)
            .endpoint(handlers::model::list)
            .endpoint(handlers::folder::list)
            .endpoint(handlers::folder::create)
            .endpoint(handlers::folder::update)
            .endpoint(handlers::folder::delete)
            .start()
            .await?;
        Ok(Self {
            service,
            users,
            state,
        })
    }

    /// Serves and follows user deletions until `shutdown`; then stops taking requests and
    /// stops the replies being written, which are saved as `stopped`.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let background = CancellationToken::new();
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
        self.state.generations.stop_all().await;
        background.cancel();
        users.await.context("the user-deletion consumer failed")?;
        Ok(())
    }
}

impl App {
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }
}
