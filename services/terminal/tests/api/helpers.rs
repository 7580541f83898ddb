//! A terminal instance under a test prefix, with a workspace root of its own, and ways to read
//! what its sessions wrote.

use std::{path::PathBuf, time::Duration};

use base64::Engine as _;
use bus::{Actor, Bus, RequestContext};
use contracts::terminal::{
    CreateSession, GetHistory, SessionId, TerminalExited, TerminalSession, WriteSession,
};
use futures::StreamExt;
use testkit::{Running, TestEnv};
use uuid::Uuid;

pub(crate) struct TestApp {
    pub(crate) env: TestEnv,
    pub(crate) bus: Bus,
    pub(crate) root: PathBuf,
    _running: Vec<Running>,
}

/// A signed-in user, as the gateway stamps one on a request.
pub(crate) fn user_ctx(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into()],
    }))
}

pub(crate) fn admin_ctx(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into(), "admin".into()],
    }))
}

/// The commands tests start: a plain POSIX shell first, and `cat`.
pub(crate) fn config(root: &std::path::Path) -> terminal::Config {
    terminal::Config {
        workspace_root: root.to_owned(),
        terminal_commands: vec!["/bin/sh".into(), "cat".into()],
        ..terminal::Config::default()
    }
}

impl TestApp {
    pub(crate) async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// One instance, running, with `change` applied to the test configuration.
    pub(crate) async fn with(change: impl FnOnce(&mut terminal::Config)) -> Self {
        let env = TestEnv::new().await;
        let root = std::env::temp_dir().join(format!("bourse-terminal-{}", env.prefix));
        let mut config = config(&root);
        change(&mut config);
        let app = env.start::<terminal::App>(config).await;
        let bus = env.bus().await;
        Self {
            _running: vec![testkit::run(app)],
            bus,
            root,
            env,
        }
    }

    /// Another instance on the same prefix and root, built (not yet running).
    pub(crate) async fn instance(&self) -> terminal::App {
        self.env.start::<terminal::App>(config(&self.root)).await
    }

    pub(crate) async fn create(&self, user: Uuid, request: CreateSession) -> TerminalSession {
        self.bus.request(&user_ctx(user), &request).await.unwrap()
    }

    pub(crate) async fn shell(&self, user: Uuid) -> TerminalSession {
        self.create(user, CreateSession::default()).await
    }

    pub(crate) async fn write(&self, user: Uuid, id: &SessionId, text: &str) {
        let request = WriteSession {
            session_id: id.clone(),
            data: Some(text.into()),
            data_base64: None,
        };
        self.bus
            .request_routed(&user_ctx(user), &request)
            .await
            .unwrap();
    }

    /// Everything the session's ring holds from `from`, decoded.
    pub(crate) async fn output(&self, user: Uuid, id: &SessionId, from: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut at = from;
        loop {
            let page = self
                .bus
                .request_routed(
                    &user_ctx(user),
                    &GetHistory {
                        session_id: id.clone(),
                        from_offset: Some(at),
                        max_bytes: None,
                    },
                )
                .await
                .unwrap();
            bytes.extend(decode(&page.data));
            at = page.next_offset;
            if page.next_offset >= page.output_offset {
                return bytes;
            }
        }
    }

    /// Waits until the session's output holds `needle`; answers all of it.
    pub(crate) async fn wait_for(&self, user: Uuid, id: &SessionId, needle: &str) -> String {
        let seen = std::sync::Mutex::new(String::new());
        testkit::wait_until(
            Duration::from_secs(10),
            &format!("the output holds {needle:?}"),
            || async {
                let output = String::from_utf8_lossy(&self.output(user, id, 0).await).into_owned();
                let found = output.contains(needle);
                *seen.lock().unwrap() = output;
                found
            },
        )
        .await;
        seen.into_inner().unwrap()
    }

    /// A listener of the session's `exited` event.
    pub(crate) async fn exits(&self, id: &SessionId) -> async_nats::Subscriber {
        testkit::listen(&self.bus, &format!("evt.terminal.{id}.exited")).await
    }
}

pub(crate) async fn next_exit(exits: &mut async_nats::Subscriber) -> TerminalExited {
    let message = tokio::time::timeout(Duration::from_secs(10), exits.next())
        .await
        .expect("an exited event within 10 s")
        .expect("the subscription is open");
    serde_json::from_slice(&message.payload).unwrap()
}

pub(crate) fn decode(data: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
