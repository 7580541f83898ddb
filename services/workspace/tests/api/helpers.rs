//! A workspace instance (and identity, for commit authors) under a test prefix, with a
//! workspace root of its own, and typed shortcuts to its requests.

use std::{path::PathBuf, time::Duration};

use bus::{Actor, Bus, BusError, RequestContext};
use contracts::{
    Request,
    identity::RegisterUser,
    workspace::{
        Bytes64, CHUNK, CommitUpload, CreateProject, FileMeta, FileView, GetFile, Project,
        ProjectName, ReadFile, RelPath, Template, UploadChunk, WorkspaceEvent, WriteFile,
    },
};
use futures::StreamExt;
use testkit::{Running, TestEnv};
use uuid::Uuid;

pub(crate) struct TestApp {
    pub(crate) env: TestEnv,
    pub(crate) bus: Bus,
    pub(crate) root: PathBuf,
    pub(crate) _running: Vec<Running>,
}

pub(crate) fn user_ctx(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into()],
    }))
}

pub(crate) fn config(root: &std::path::Path) -> workspace::Config {
    workspace::Config {
        workspace_root: root.to_owned(),
        workspace_allow_local_remotes: true,
        workspace_debounce: Duration::from_millis(50),
        ..workspace::Config::default()
    }
}

pub(crate) fn path(raw: &str) -> RelPath {
    RelPath::parse(raw).unwrap()
}

impl TestApp {
    pub(crate) async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// Identity and a workspace instance with `change` applied to its test configuration.
    pub(crate) async fn with(change: impl FnOnce(&mut workspace::Config)) -> Self {
        let env = TestEnv::new().await;
        let root = std::env::temp_dir().join(format!("bourse-workspace-{}", env.prefix));
        let mut identity = identity::Config::new(auth::TokenConfig::hs256(
            "wOrKsPaCe-TeSt-9f86d081884c7d659a2feaa0c55ad015a3bf",
        ));
        identity.password_hashing = identity::PasswordHashing::INSECURE_FOR_TESTS;
        let identity = env.start::<identity::App>(identity).await;
        let mut config = config(&root);
        change(&mut config);
        let app = env.start::<workspace::App>(config).await;
        let bus = env.bus().await;
        Self {
            _running: vec![testkit::run(identity), testkit::run(app)],
            bus,
            root,
            env,
        }
    }

    /// A new account (its name and email are commit authors).
    pub(crate) async fn user(&self, name: &str) -> Uuid {
        let email = format!(
            "{}-{}@example.com",
            name.to_lowercase().replace(' ', "."),
            Uuid::now_v7().simple()
        );
        let request = RegisterUser {
            email,
            password: "correct horse battery staple".into(),
            name: name.into(),
        };
        self.bus
            .request(&RequestContext::new(), &request)
            .await
            .unwrap()
            .id
    }

    pub(crate) async fn call<R: Request>(
        &self,
        user: Uuid,
        request: &R,
    ) -> Result<R::Reply, BusError> {
        self.bus.request(&user_ctx(user), request).await
    }

    pub(crate) async fn ok<R: Request>(&self, user: Uuid, request: &R) -> R::Reply {
        self.call(user, request)
            .await
            .unwrap_or_else(|err| panic!("{} failed: {err}", R::SUBJECT))
    }

    pub(crate) async fn project(&self, user: Uuid, name: &str) -> Project {
        let request = CreateProject {
            name: ProjectName::parse(name).unwrap(),
            template: Some(Template::Empty),
        };
        self.ok(user, &request).await
    }

    /// The project's directory on disk.
    pub(crate) fn dir(&self, user: Uuid, project: &Project) -> PathBuf {
        self.root.join(user.to_string()).join(project.name.as_str())
    }

    pub(crate) async fn write(&self, user: Uuid, project: Uuid, at: &str, data: &[u8]) -> FileMeta {
        let request = WriteFile {
            project_id: project,
            path: path(at),
            data: Bytes64(data.to_vec()),
            if_match: None,
            create: false,
        };
        self.ok(user, &request).await
    }

    /// Any size, in chunks, as the gateway uploads.
    pub(crate) async fn upload(
        &self,
        user: Uuid,
        project: Uuid,
        at: &str,
        data: &[u8],
    ) -> Result<FileMeta, BusError> {
        let upload_id = Uuid::now_v7();
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            let request = UploadChunk {
                project_id: project,
                upload_id,
                offset: (i * CHUNK) as u64,
                data: Bytes64(chunk.to_vec()),
            };
            self.call(user, &request).await?;
        }
        let request = CommitUpload {
            project_id: project,
            upload_id,
            path: path(at),
            size: data.len() as u64,
            if_match: None,
            create: false,
        };
        self.call(user, &request).await
    }

    /// A whole file, chunk by chunk, as the gateway reads it.
    pub(crate) async fn read(&self, user: Uuid, project: Uuid, at: &str) -> (FileMeta, Vec<u8>) {
        let request = GetFile {
            project_id: project,
            path: Some(path(at)),
            offset: None,
            limit: None,
        };
        let FileView::File { meta, data } = self.ok(user, &request).await else {
            panic!("{at} is a directory");
        };
        let mut bytes = data.0;
        while (bytes.len() as u64) < meta.size {
            let next = ReadFile {
                project_id: project,
                path: meta.path.clone(),
                offset: bytes.len() as u64,
                version: meta.version.clone(),
            };
            bytes.extend(self.ok(user, &next).await.data.0);
        }
        (meta, bytes)
    }

    /// Names in a directory listing.
    pub(crate) async fn names(&self, user: Uuid, project: Uuid, at: Option<&str>) -> Vec<String> {
        let request = GetFile {
            project_id: project,
            path: at.map(path),
            offset: None,
            limit: None,
        };
        match self.ok(user, &request).await {
            FileView::Directory { entries, .. } => entries.into_iter().map(|e| e.name).collect(),
            FileView::File { .. } => panic!("not a directory"),
        }
    }

    /// Follows a project's events (core NATS: what JetStream stores is delivered here too).
    pub(crate) async fn events(&self, project: Uuid) -> Events {
        Events(testkit::listen(&self.bus, &format!("evt.workspace.{project}.>")).await)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub(crate) struct Events(async_nats::Subscriber);

impl Events {
    /// The next event, within 10 s.
    pub(crate) async fn next(&mut self) -> WorkspaceEvent {
        let message = tokio::time::timeout(Duration::from_secs(10), self.0.next())
            .await
            .expect("an event within 10 s")
            .expect("the subscription is open");
        serde_json::from_slice(&message.payload).unwrap()
    }

    /// Events until one matches `want` (those before it are returned too).
    pub(crate) async fn until(
        &mut self,
        want: impl Fn(&WorkspaceEvent) -> bool,
    ) -> Vec<WorkspaceEvent> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let done = want(&event);
            seen.push(event);
            if done {
                return seen;
            }
        }
    }

    /// Nothing more arrives within `quiet`.
    pub(crate) async fn none_within(&mut self, quiet: Duration) -> Option<WorkspaceEvent> {
        match tokio::time::timeout(quiet, self.0.next()).await {
            Ok(Some(message)) => serde_json::from_slice(&message.payload).ok(),
            _ => None,
        }
    }
}
