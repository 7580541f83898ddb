//! [`Scratch`]: this run's share of the servers, as `testkit` gives one to each test (both
//! through `bus::pg`'s scratch databases and `bus::provision::delete_all`; testkit panics on
//! set-up failures, which suits a test, not a tool): a unique subject prefix `bench<random>`
//! whose streams and buckets are deleted at the end, and a database `bourse_bench_<random>`
//! dropped at the end.

use anyhow::Context;
use bus::{Prefix, provision};

use super::REQUEST_TIMEOUT;

/// This run's prefixes and database, removed by [`Scratch::cleanup`].
pub(crate) struct Scratch {
    pub(crate) tag: String,
    pub(crate) nats_url: String,
    admin_url: String,
    database: String,
    pub(crate) database_url: String,
    /// `bench<tag>`: the in-process stack's.
    pub(crate) prefix: Prefix,
    /// `bench<tag><suffix>`: other deployments of the run (`bourse dev` for the RSS).
    extra_prefixes: Vec<Prefix>,
}

impl Scratch {
    /// Creates the scratch database; the main prefix is `bench<tag>`.
    pub(crate) async fn create(nats_url: &str, admin_url: &str) -> anyhow::Result<Self> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        // The tail of a v7 uuid is random; its head is a timestamp.
        let tag = id[id.len() - 12..].to_owned();
        let database = format!("bourse_bench_{tag}");
        let database_url = bus::pg::create_scratch_database(admin_url, &database)
            .await
            .context("creating the scratch database")?;
        let prefix = Prefix::new(&format!("bench{tag}"))?;
        Ok(Self {
            tag,
            nats_url: nats_url.to_owned(),
            admin_url: admin_url.to_owned(),
            database,
            database_url,
            prefix,
            extra_prefixes: Vec::new(),
        })
    }

    /// Another prefix of this run, `bench<tag><suffix>`, cleaned up with the rest.
    pub(crate) fn extra_prefix(&mut self, suffix: &str) -> anyhow::Result<Prefix> {
        anyhow::ensure!(!suffix.is_empty(), "an extra prefix needs a suffix");
        let prefix = Prefix::new(&format!("{}{suffix}", self.prefix.as_str()))?;
        if !self.extra_prefixes.contains(&prefix) {
            self.extra_prefixes.push(prefix.clone());
        }
        Ok(prefix)
    }

    /// Best effort: deletes every stream of the run's prefixes (KV buckets are streams too, and
    /// `bourse dev` may have made more than the provisioned ones) and drops the database. What
    /// cannot be removed is said on stderr, with its name.
    pub(crate) async fn cleanup(self) {
        if let Err(err) = bus::pg::drop_scratch_database(&self.admin_url, &self.database).await {
            eprintln!("warning: could not drop database {}: {err}", self.database);
        }
        let prefixes: Vec<&Prefix> = std::iter::once(&self.prefix)
            .chain(&self.extra_prefixes)
            .collect();
        let connected =
            tokio::time::timeout(REQUEST_TIMEOUT, async_nats::connect(self.nats_url.as_str()))
                .await;
        let Ok(Ok(client)) = connected else {
            eprintln!(
                "warning: NATS unreachable at clean-up; the streams of prefixes {prefixes:?} remain"
            );
            return;
        };
        let js = async_nats::jetstream::new(client);
        match provision::delete_all(&js, &prefixes).await {
            Ok(failed) => {
                for (name, err) in failed {
                    eprintln!("warning: could not delete stream {name}: {err}");
                }
            }
            Err(err) => eprintln!(
                "warning: cannot list streams ({err}); the streams of prefixes {prefixes:?} remain"
            ),
        }
    }
}
