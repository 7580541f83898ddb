//! The workspace suite: files and git through the gateway to a workspace instance, both in
//! this process.
//!
//! - **1 MB write / read**: `PUT /api/v1/files/{path}` and `GET /api/v1/files?…&download=true`
//!   of a 1 MiB file, at concurrency 1 (latency) and [`CROWD`] (throughput). Each crosses NATS
//!   as two 512 KiB chunks. Baselines in the same run: raw NATS request/reply carrying the same
//!   bytes in the same two chunks, and — the alternative the design weighed — the JetStream
//!   object store putting and getting the same 1 MiB.
//! - **listing 10,000 files**: one directory of 10,000 files (untracked, so each has a git
//!   mark), listed whole through the gateway (two pages of 5,000). Target: ≤ 200 ms.
//! - **git status, 10,000 files**: the same files committed, 100 of them changed; `GET
//!   /api/v1/git/status` through the gateway, and libgit2's status in-process as the baseline.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use bus::{
    Actor, Bus, BusConfig, NatsArgs, RequestContext,
    kit::{self, Platform, Service},
};
use contracts::workspace::{CreateProject, ProjectName, Template};
use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    load::{self, LoadOutcome, LoadSpec},
    report::{Target, Verdict},
    stack::{self, Scratch},
};

/// Listing 10,000 files, at most.
pub(crate) const LIST_MS_MAX: f64 = 200.0;
/// Files of the listing and status scenarios.
const FILES: usize = 10_000;
/// Bytes of the read and write scenarios.
const FILE_BYTES: usize = 1024 * 1024;
/// Concurrent clients of the throughput runs.
const CROWD: usize = 8;
/// Repetitions of the listing and status scenarios.
const RUNS: usize = 20;

#[derive(Debug, Clone)]
pub(crate) struct WorkspacePlan {
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum WorkspaceOutcome {
    Skipped,
    Failed { error: String },
    Measured(Box<WorkspaceFigures>),
}

/// Requests per second and latency of one scenario at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Rate {
    pub(crate) concurrency: usize,
    pub(crate) per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct WorkspaceFigures {
    pub(crate) write: Vec<Rate>,
    pub(crate) read: Vec<Rate>,
    pub(crate) nats_chunks: Vec<Rate>,
    pub(crate) object_store: Vec<Rate>,
    pub(crate) list_p50_ms: f64,
    pub(crate) list_max_ms: f64,
    pub(crate) list_entries: u64,
    pub(crate) status_p50_ms: f64,
    pub(crate) status_max_ms: f64,
    pub(crate) status_entries: usize,
    pub(crate) libgit2_status_p50_ms: f64,
}

pub(crate) async fn measure(scratch: &mut Scratch, plan: &WorkspacePlan) -> WorkspaceOutcome {
    match measure_all(scratch, plan).await {
        Ok(figures) => WorkspaceOutcome::Measured(Box::new(figures)),
        Err(err) => WorkspaceOutcome::Failed {
            error: format!("{err:#}"),
        },
    }
}

struct WorkspaceStack {
    client: Bus,
    http: reqwest::Client,
    base: String,
    token: String,
    user: Uuid,
    root: PathBuf,
    shutdown: CancellationToken,
    tasks: stack::Tasks,
}

async fn measure_all(
    scratch: &mut Scratch,
    plan: &WorkspacePlan,
) -> anyhow::Result<WorkspaceFigures> {
    let stack = WorkspaceStack::start(scratch).await?;
    let figures = stack.measure(plan).await;
    stack::stop_tasks(&stack.shutdown, stack.tasks).await;
    let _ = std::fs::remove_dir_all(&stack.root);
    figures
}

impl WorkspaceStack {
    async fn start(scratch: &mut Scratch) -> anyhow::Result<Self> {
        let prefix = scratch.extra_prefix("f")?;
        let nats = NatsArgs {
            nats_url: scratch.nats_url.clone(),
            subject_prefix: prefix.clone(),
            stream_replicas: 1,
            request_timeout: Duration::from_secs(30),
        };
        let platform = Platform::new(nats, &scratch.database_url);
        let root = std::env::temp_dir().join(format!("bourse-bench-workspace-{}", scratch.tag));
        let config = workspace::Config {
            workspace_root: root.clone(),
            ..workspace::Config::default()
        };
        let workspace = kit::start::<workspace::App>(&platform, config).await?;
        let token_config = stack::token_config()?;
        let gateway =
            kit::start::<gateway::App>(&platform, stack::gateway_config(token_config.clone())?)
                .await?;
        let addr = gateway.local_addr();
        let client = Bus::connect(BusConfig::new(&scratch.nats_url, prefix, "bench-workspace"))
            .await
            .context("the bench's connection")?;
        let shutdown = CancellationToken::new();
        let tasks = vec![
            (
                workspace::App::NAME,
                tokio::spawn(workspace.run_until_stopped(shutdown.clone())),
            ),
            (
                gateway::App::NAME,
                tokio::spawn(gateway.run_until_stopped(shutdown.clone())),
            ),
        ];
        let user = Uuid::now_v7();
        Ok(Self {
            client,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(CROWD * 2)
                .build()?,
            base: format!("http://{addr}"),
            token: stack::mint_token_for(&token_config, user)?,
            user,
            root,
            shutdown,
            tasks,
        })
    }

    fn ctx(&self) -> RequestContext {
        RequestContext::new().with_actor(Some(Actor {
            user_id: self.user,
            roles: vec!["user".into()],
        }))
    }

    async fn project(&self, name: &str) -> anyhow::Result<(Uuid, PathBuf)> {
        let request = CreateProject {
            name: ProjectName::parse(name)?,
            template: Some(Template::Empty),
        };
        let project = self.client.request(&self.ctx(), &request).await?;
        Ok((project.id, self.root.join(self.user.to_string()).join(name)))
    }

    async fn measure(&self, plan: &WorkspacePlan) -> anyhow::Result<WorkspaceFigures> {
        let (project, _) = self.project("transfer").await?;
        let body = bytes::Bytes::from((0..FILE_BYTES).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let (mut write, mut read, mut nats_chunks, mut object_store) =
            (vec![], vec![], vec![], vec![]);
        let bucket = format!("bench_files_{}", Uuid::now_v7().simple());
        let store = self.object_store(&bucket).await?;
        for concurrency in [1, CROWD] {
            let spec = LoadSpec {
                concurrency,
                warmup: plan.warmup,
                duration: plan.duration,
            };
            eprintln!("workspace: 1 MiB writes @{concurrency}");
            let (http, base, token, data) = (
                self.http.clone(),
                self.base.clone(),
                self.token.clone(),
                body.clone(),
            );
            let outcome = load::run(spec, move |worker| {
                let (http, token, data) = (http.clone(), token.clone(), data.clone());
                let url = format!("{base}/api/v1/files/w{worker}.bin?project_id={project}");
                async move {
                    let response = http.put(url).bearer_auth(token).body(data).send().await?;
                    anyhow::ensure!(
                        response.status() == 200,
                        "PUT answered {}",
                        response.status()
                    );
                    Ok(())
                }
            })
            .await?;
            write.push(rate(concurrency, &outcome));
            eprintln!("workspace: 1 MiB reads @{concurrency}");
            let (http, base, token) = (self.http.clone(), self.base.clone(), self.token.clone());
            let outcome = load::run(spec, move |worker| {
                let (http, token) = (http.clone(), token.clone());
                let url = format!(
                    "{base}/api/v1/files?project_id={project}&path=w{worker}.bin&download=true"
                );
                async move {
                    let response = http.get(url).bearer_auth(token).send().await?;
                    anyhow::ensure!(
                        response.status() == 200,
                        "GET answered {}",
                        response.status()
                    );
                    let got = response.bytes().await?;
                    anyhow::ensure!(got.len() == FILE_BYTES, "read {} bytes", got.len());
                    Ok(())
                }
            })
            .await?;
            read.push(rate(concurrency, &outcome));
            eprintln!("workspace: baselines @{concurrency}");
            nats_chunks.push(rate(
                concurrency,
                &self.nats_chunks(spec, body.clone()).await?,
            ));
            object_store.push(rate(
                concurrency,
                &object_store_round_trips(&store, spec, body.clone()).await?,
            ));
        }
        self.client
            .jetstream()
            .delete_object_store(&bucket)
            .await
            .ok();

        eprintln!("workspace: {FILES} files in one directory, listed {RUNS} times");
        let (project, dir) = self.project("many").await?;
        let many = dir.join("many");
        std::fs::create_dir_all(&many)?;
        for i in 0..FILES {
            std::fs::write(
                many.join(format!("file-{i:05}.csv")),
                format!("date,close\n2026-12-0{},{i}\n", i % 9 + 1),
            )?;
        }
        // The watcher publishes an event per new file; listing is measured once that is over.
        self.settle().await?;
        let mut lists = Vec::with_capacity(RUNS);
        let mut entries = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            entries = self.list_all(project, "many").await?;
            lists.push(started.elapsed());
        }
        lists.sort();

        eprintln!("workspace: git status of {FILES} committed files, 100 changed, {RUNS} times");
        commit_everything(&dir)?;
        for i in (0..FILES).step_by(FILES / 100) {
            std::fs::write(many.join(format!("file-{i:05}.csv")), "changed\n")?;
        }
        self.settle().await?;
        let mut statuses = Vec::with_capacity(RUNS);
        let mut status_entries = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let url = format!("{}/api/v1/git/status?project_id={project}", self.base);
            let response = self.http.get(url).bearer_auth(&self.token).send().await?;
            anyhow::ensure!(
                response.status() == 200,
                "status answered {}",
                response.status()
            );
            let body: serde_json::Value = response.json().await?;
            status_entries = body["data"]["entries"].as_array().map_or(0, Vec::len);
            statuses.push(started.elapsed());
        }
        statuses.sort();
        let mut direct = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            let repo = git2::Repository::open(&dir)?;
            let mut options = git2::StatusOptions::new();
            options.include_untracked(true).recurse_untracked_dirs(true);
            anyhow::ensure!(repo.statuses(Some(&mut options))?.len() == status_entries);
            direct.push(started.elapsed());
        }
        direct.sort();
        Ok(WorkspaceFigures {
            write,
            read,
            nats_chunks,
            object_store,
            list_p50_ms: ms(lists[RUNS / 2]),
            list_max_ms: ms(lists[RUNS - 1]),
            list_entries: entries,
            status_p50_ms: ms(statuses[RUNS / 2]),
            status_max_ms: ms(statuses[RUNS - 1]),
            status_entries,
            libgit2_status_p50_ms: ms(direct[RUNS / 2]),
        })
    }

    /// Waits until the WORKSPACE stream has stopped growing for a second: the watcher has
    /// published the events of what the bench wrote.
    async fn settle(&self) -> anyhow::Result<()> {
        let stream = <contracts::workspace::WorkspaceEvent as contracts::Event>::STREAM;
        let mut last = u64::MAX;
        loop {
            let now = self.client.stream_info(stream).await?.state.messages;
            if now == last {
                return Ok(());
            }
            last = now;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Every entry of a directory, page by page, through the gateway; the count.
    async fn list_all(&self, project: Uuid, path: &str) -> anyhow::Result<u64> {
        let mut offset = 0u64;
        loop {
            let url = format!(
                "{}/api/v1/files?project_id={project}&path={path}&offset={offset}",
                self.base
            );
            let response = self.http.get(url).bearer_auth(&self.token).send().await?;
            anyhow::ensure!(
                response.status() == 200,
                "listing answered {}",
                response.status()
            );
            let body: serde_json::Value = response.json().await?;
            let page = body["data"]["entries"].as_array().map_or(0, Vec::len) as u64;
            let total = body["data"]["total"].as_u64().unwrap_or(0);
            offset += page;
            if page == 0 || offset >= total {
                anyhow::ensure!(offset == total, "listed {offset} of {total}");
                return Ok(offset);
            }
        }
    }

    /// The baseline of a transfer: the same bytes as two raw NATS request/replies of 512 KiB
    /// (echoed back for a read; acknowledged for a write, which is the cheaper half).
    async fn nats_chunks(&self, spec: LoadSpec, body: bytes::Bytes) -> anyhow::Result<LoadOutcome> {
        let subject = format!("bench.chunk.{}", Uuid::now_v7().simple());
        let mut responder = self.client.client().subscribe(subject.clone()).await?;
        let echo_client = self.client.client().clone();
        let echo = tokio::spawn(async move {
            while let Some(message) = responder.next().await {
                if let Some(reply) = message.reply {
                    let _ = echo_client.publish(reply, message.payload).await;
                }
            }
        });
        self.client.sync().await?;
        let client = Arc::new(self.client.client().clone());
        let half = FILE_BYTES / 2;
        let outcome = load::run(spec, move |_| {
            let (client, subject, body) = (client.clone(), subject.clone(), body.clone());
            async move {
                for part in [body.slice(..half), body.slice(half..)] {
                    let answer = client.request(subject.clone(), part).await?;
                    anyhow::ensure!(answer.payload.len() == half);
                }
                Ok(())
            }
        })
        .await;
        echo.abort();
        outcome
    }

    async fn object_store(
        &self,
        bucket: &str,
    ) -> anyhow::Result<async_nats::jetstream::object_store::ObjectStore> {
        let bucket = bucket.to_owned();
        Ok(self
            .client
            .jetstream()
            .create_object_store(async_nats::jetstream::object_store::Config {
                bucket,
                ..Default::default()
            })
            .await?)
    }
}

/// The alternative to chunks: each worker puts the 1 MiB into the object store and gets it
/// back (what an upload and a download would each do once).
async fn object_store_round_trips(
    store: &async_nats::jetstream::object_store::ObjectStore,
    spec: LoadSpec,
    body: bytes::Bytes,
) -> anyhow::Result<LoadOutcome> {
    let store = Arc::new(store.clone());
    load::run(spec, move |worker| {
        let (store, body) = (store.clone(), body.clone());
        async move {
            let name = format!("w{worker}");
            let mut reader = std::io::Cursor::new(body.to_vec());
            store.put(name.as_str(), &mut reader).await?;
            let mut object = store.get(name.as_str()).await?;
            let mut back = Vec::with_capacity(FILE_BYTES);
            tokio::io::AsyncReadExt::read_to_end(&mut object, &mut back).await?;
            anyhow::ensure!(back.len() == FILE_BYTES, "got {} bytes", back.len());
            Ok(())
        }
    })
    .await
}

/// Commits every file of the project with libgit2 (setup, not measured).
fn commit_everything(dir: &std::path::Path) -> anyhow::Result<()> {
    let repo = git2::Repository::open(dir)?;
    let mut index = repo.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let signature = git2::Signature::now("Bench", "bench@example.com")?;
    repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        "10,000 files",
        &tree,
        &[],
    )?;
    Ok(())
}

fn rate(concurrency: usize, outcome: &LoadOutcome) -> Rate {
    Rate {
        concurrency,
        per_s: outcome.requests() as f64 / outcome.elapsed.as_secs_f64().max(f64::EPSILON),
        p50_ms: outcome.quantile_us(0.50) / 1000.0,
        p99_ms: outcome.quantile_us(0.99) / 1000.0,
        errors: outcome.errors,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rates(figures: &[Rate]) -> String {
    figures
        .iter()
        .map(|r| {
            format!(
                "@{}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms{}",
                r.concurrency,
                r.per_s,
                r.p50_ms,
                r.p99_ms,
                if r.errors > 0 {
                    format!(", {} errors", r.errors)
                } else {
                    String::new()
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Throughput of `scenario` over that of `baseline` at the crowd.
fn ratio(scenario: &[Rate], baseline: &[Rate]) -> f64 {
    let at = |rates: &[Rate]| {
        rates
            .iter()
            .find(|r| r.concurrency == CROWD)
            .map_or(0.0, |r| r.per_s)
    };
    at(scenario) / at(baseline).max(f64::EPSILON)
}

pub(crate) fn targets(outcome: &WorkspaceOutcome) -> Vec<Target> {
    let WorkspaceOutcome::Measured(f) = outcome else {
        let detail = match outcome {
            WorkspaceOutcome::Failed { error } => format!("failed: {error}"),
            _ => "skipped".to_owned(),
        };
        return vec![Target {
            name: "workspace suite".into(),
            verdict: Verdict::NotMeasured,
            detail,
        }];
    };
    // A transfer has no target: its figures are reported against the baselines, and any
    // failed request is a miss.
    let transfer = |name: &str, measured: &[Rate]| Target {
        name: name.into(),
        verdict: if measured.iter().all(|r| r.errors == 0) {
            Verdict::Info
        } else {
            Verdict::Miss
        },
        detail: format!(
            "{}; {:.2}x raw NATS chunks, {:.2}x the object store's put+get at @{CROWD}",
            rates(measured),
            ratio(measured, &f.nats_chunks),
            ratio(measured, &f.object_store)
        ),
    };
    vec![
        transfer(
            "1 MiB write through the gateway (PUT /api/v1/files)",
            &f.write,
        ),
        transfer(
            "1 MiB read through the gateway (GET /api/v1/files, download)",
            &f.read,
        ),
        Target {
            name: "baselines: 2 x 512 KiB raw NATS request/reply; object store put+get of 1 MiB"
                .into(),
            verdict: Verdict::Info,
            detail: format!(
                "NATS {}; object store {}",
                rates(&f.nats_chunks),
                rates(&f.object_store)
            ),
        },
        Target {
            name: format!(
                "list a directory of {FILES} files through the gateway <= {LIST_MS_MAX} ms"
            ),
            verdict: Verdict::from_bool(
                f.list_entries == FILES as u64 && f.list_max_ms <= LIST_MS_MAX,
            ),
            detail: format!(
                "p50 {:.1} ms, max {:.1} ms over {RUNS} listings of {} entries (2 pages, with git marks)",
                f.list_p50_ms, f.list_max_ms, f.list_entries
            ),
        },
        Target {
            name: format!("git status of a project of {FILES} files (100 changed)"),
            verdict: Verdict::Info,
            detail: format!(
                "through the gateway p50 {:.1} ms, max {:.1} ms, {} entries; libgit2 in-process p50 {:.1} ms",
                f.status_p50_ms, f.status_max_ms, f.status_entries, f.libgit2_status_p50_ms
            ),
        },
    ]
}
