//! An identity service on real NATS and Postgres, under a test prefix, started by the service
//! kit as its binary is.

use std::time::Duration;

use auth::{TokenConfig, TokenKeys};
use bus::{Actor, Bus, BusError, RequestContext};
use contracts::{
    Event, Request,
    identity::{ClientInfo, Login, RegisterUser, Role, Session, User, UserRegistered},
};
use identity::Passwords;
use sqlx::PgPool;
use testkit::{Running, TestEnv};

/// A secret that passes the strength rules; tests only.
pub(crate) const SECRET: &str = "tEsT-oNlY-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) struct TestApp {
    /// The test's own connection.
    pub(crate) bus: Bus,
    /// The test's own pool on the identity schema.
    pub(crate) pool: PgPool,
    pub(crate) config: identity::Config,
    /// The running service's hasher (its count of verifications).
    pub(crate) passwords: std::sync::Arc<Passwords>,
    pub(crate) running: Running,
    // Last, so the servers are cleaned up after the service stopped.
    pub(crate) env: TestEnv,
}

/// What tests run with: a strong secret, default lifetimes, and cheap hashing so the suite stays
/// fast (the OWASP default is covered by the unit tests of `identity::password`).
pub(crate) fn test_config() -> identity::Config {
    let mut config = identity::Config::new(TokenConfig::hs256(SECRET));
    config.password_hashing = identity::PasswordHashing::INSECURE_FOR_TESTS;
    config
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(test_config()).await
}

pub(crate) async fn spawn_app_with(config: identity::Config) -> TestApp {
    let env = TestEnv::new().await;
    let app = env.start::<identity::App>(config.clone()).await;
    TestApp {
        bus: env.bus().await,
        pool: env.pool::<identity::App>().await,
        config,
        passwords: app.passwords(),
        running: testkit::run(app),
        env,
    }
}

impl TestApp {
    /// A request with no user, as the gateway sends register, login, refresh and logout.
    pub(crate) async fn call<R: Request>(&self, request: R) -> Result<R::Reply, BusError> {
        self.bus.request(&RequestContext::new(), &request).await
    }

    /// A request acting for `actor`, as the gateway sends it after verifying a token.
    pub(crate) async fn call_as<R: Request>(
        &self,
        actor: &Actor,
        request: R,
    ) -> Result<R::Reply, BusError> {
        self.bus
            .request(
                &RequestContext::new().with_actor(Some(actor.clone())),
                &request,
            )
            .await
    }

    /// A raw JSON body to `subject`, acting for `actor`; answers the error code, if any.
    pub(crate) async fn call_raw(
        &self,
        subject: &str,
        actor: Option<&Actor>,
        body: serde_json::Value,
    ) -> Option<String> {
        let ctx = RequestContext::new().with_actor(actor.cloned());
        let reply = self
            .bus
            .request_bytes(
                &self.env.prefix.subject(subject),
                ctx.to_headers(),
                serde_json::to_vec(&body).unwrap().into(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        reply
            .headers
            .as_ref()
            .and_then(|h| h.get("Bourse-Error-Code"))
            .map(|code| code.as_str().to_owned())
    }

    pub(crate) async fn register(&self, email: &str) -> User {
        self.register_email(email.to_owned()).await
    }

    pub(crate) async fn register_email(&self, email: String) -> User {
        let name = email.split('@').next().unwrap().to_owned();
        self.call(RegisterUser {
            email,
            password: PASSWORD.into(),
            name,
        })
        .await
        .unwrap()
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Result<Session, BusError> {
        self.call(Login {
            email: email.into(),
            password: password.into(),
            client: client(),
        })
        .await
    }

    /// Registers `email` and logs in: the account, its session and the actor its token stands for.
    pub(crate) async fn signed_up(&self, email: &str) -> (User, Session, Actor) {
        let user = self.register(email).await;
        let session = self.login(email, PASSWORD).await.unwrap();
        let actor = self.actor(&session);
        (user, session, actor)
    }

    /// An admin, made with the operator's tool (`bourse user create --admin`), logged in.
    pub(crate) async fn admin(&self) -> Actor {
        let request = RegisterUser {
            email: "root@example.com".into(),
            password: PASSWORD.into(),
            name: "Root".into(),
        };
        identity::create_user(&self.pool, &RequestContext::new(), request, &[Role::Admin])
            .await
            .unwrap();
        self.actor(&self.login("root@example.com", PASSWORD).await.unwrap())
    }

    /// The actor a gateway would derive from the session's access token.
    pub(crate) fn actor(&self, session: &Session) -> Actor {
        let claims = self
            .verifier()
            .verify(session.access_token.expose())
            .unwrap();
        Actor {
            user_id: claims.sub,
            roles: claims.role_names(),
        }
    }

    /// Keys as the gateway builds them: verification only.
    pub(crate) fn verifier(&self) -> TokenKeys {
        TokenKeys::verifying(&self.config.token).unwrap()
    }

    /// Every event of the IDENTITY stream so far: subject (without prefix), payload, headers.
    pub(crate) async fn events(&self) -> Vec<(String, serde_json::Value, async_nats::HeaderMap)> {
        let mut stream = self.bus.stream(UserRegistered::STREAM).await.unwrap();
        let count = stream.info().await.unwrap().state.messages;
        let mut events = Vec::new();
        for seq in 1..=count {
            let message = stream.get_raw_message(seq).await.unwrap();
            let subject = self.env.prefix.strip(&message.subject).unwrap().to_owned();
            events.push((
                subject,
                serde_json::from_slice(&message.payload).unwrap(),
                message.headers,
            ));
        }
        events
    }

    /// Waits until an event with `subject` is in the stream, and answers it.
    pub(crate) async fn event(&self, subject: &str) -> (serde_json::Value, async_nats::HeaderMap) {
        testkit::wait_until(
            Duration::from_secs(10),
            &format!("{subject} is published"),
            || async { self.events().await.iter().any(|(s, _, _)| s == subject) },
        )
        .await;
        let events = self.events().await;
        let (_, payload, headers) = events.into_iter().find(|(s, _, _)| s == subject).unwrap();
        (payload, headers)
    }

    pub(crate) async fn stop(self) {
        self.running.stop().await;
    }
}

/// Where the gateway says a request comes from.
pub(crate) fn client() -> ClientInfo {
    ClientInfo {
        ip: Some("203.0.113.7".parse().unwrap()),
        user_agent: Some("integration-test/1.0".into()),
    }
}
