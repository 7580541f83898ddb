//! [`Scratch`]: this run's share of the servers, as `testkit` does it for tests (copied rather
//! than reused: testkit panics on set-up failures, which suits a test, not a tool): a unique
//! subject prefix `bench<random>` whose streams and buckets are deleted at the end, and a
//! database `bourse_bench_<random>` dropped at the end.

use anyhow::Context;
use bus::{Prefix, provision};
use futures::TryStreamExt;
use sqlx::{Connection, Executor, PgConnection};

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
        let mut conn = PgConnection::connect(admin_url).await.with_context(|| {
            format!(
                "Postgres is not reachable at {}",
                bus::pg::redact(admin_url)
            )
        })?;
        conn.execute(format!("create database {database}").as_str())
            .await
            .context("creating the scratch database")?;
        let database_url = replace_database(admin_url, &database);
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
        let drop_db = format!("drop database if exists {} with (force)", self.database);
        let dropped = match PgConnection::connect(&self.admin_url).await {
            Ok(mut conn) => conn.execute(drop_db.as_str()).await.map(drop),
            Err(err) => Err(err),
        };
        if let Err(err) = dropped {
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
        let names = match js.stream_names().try_collect::<Vec<String>>().await {
            Ok(names) => names
                .into_iter()
                .filter(|name| prefixes.iter().any(|p| owned_by(name, p)))
                .collect(),
            Err(err) => {
                eprintln!(
                    "warning: cannot list streams ({err}); deleting the provisioned ones only"
                );
                let known = provision::STREAMS.iter().map(|(name, _)| *name);
                let buckets = provision::BUCKETS.iter().map(|(name, _)| *name);
                let mut names = Vec::new();
                for prefix in &prefixes {
                    names.extend(known.clone().map(|name| prefix.stream(name)));
                    names.extend(
                        buckets
                            .clone()
                            .map(|name| format!("KV_{}", prefix.bucket(name))),
                    );
                }
                names
            }
        };
        for name in names {
            match js.delete_stream(&name).await {
                Ok(_) => {}
                // Never provisioned (e.g. a run that failed early): nothing to remove.
                Err(err) if err.to_string().contains("not found") => {}
                Err(err) => eprintln!("warning: could not delete stream {name}: {err}"),
            }
        }
    }
}

/// Whether stream `name` belongs to `prefix`: its streams are `<prefix>_NAME`, its KV buckets
/// `KV_<prefix>_name` and object stores `OBJ_<prefix>_name`.
fn owned_by(name: &str, prefix: &Prefix) -> bool {
    let own = format!("{}_", prefix.as_str());
    let name = name
        .strip_prefix("KV_")
        .or_else(|| name.strip_prefix("OBJ_"))
        .unwrap_or(name);
    !prefix.is_empty() && name.starts_with(&own)
}

/// Swaps the database of a Postgres URL, keeping host, credentials and options.
pub(crate) fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_database_keeps_host_and_options() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn streams_are_owned_by_their_exact_prefix_only() {
        let main = Prefix::new("bench0123abcd").unwrap();
        let rss = Prefix::new("bench0123abcdr").unwrap();
        assert!(owned_by("bench0123abcd_PRICES", &main));
        assert!(owned_by("KV_bench0123abcd_quotes", &main));
        assert!(owned_by("OBJ_bench0123abcd_files", &main));
        assert!(!owned_by("bench0123abcdr_PRICES", &main));
        assert!(owned_by("bench0123abcdr_PRICES", &rss));
        assert!(!owned_by("PRICES", &main));
        assert!(!owned_by("KV_quotes", &main));
        assert!(!owned_by("PRICES", &Prefix::default()));
    }
}
