//! Streams and KV buckets, declared in `nats/streams/*.json` and `nats/kv/*.json` and compiled
//! into every binary, so a deployment needs no checkout of the repository.
//!
//! [`ensure_all`] runs at start-up of every service and of `bourse dev`: it creates what is
//! missing and updates a stream whose declared settings changed (idempotent, safe to run from
//! many instances at once). The files use the JSON of `nats stream add --config`, so an
//! operator can apply them by hand too.

use std::collections::HashMap;

use async_nats::jetstream::{self, stream};
use futures::TryStreamExt;
use serde::Deserialize;

use crate::{Bus, BusError, Prefix};

/// Every stream of DESIGN.md §2, by name.
pub const STREAMS: &[(&str, &str)] = &[
    (
        "IDENTITY",
        include_str!("../../../nats/streams/identity.json"),
    ),
    (
        "PORTFOLIO",
        include_str!("../../../nats/streams/portfolio.json"),
    ),
    ("PRICES", include_str!("../../../nats/streams/prices.json")),
    (
        "VALUATIONS",
        include_str!("../../../nats/streams/valuations.json"),
    ),
    ("CHAT", include_str!("../../../nats/streams/chat.json")),
    (
        "TERMINAL",
        include_str!("../../../nats/streams/terminal.json"),
    ),
    (
        "WORKSPACE",
        include_str!("../../../nats/streams/workspace.json"),
    ),
];

/// Every KV bucket, by the name its contract declares.
pub const BUCKETS: &[(&str, &str)] = &[
    (
        <contracts::market::Quotes as contracts::Bucket>::NAME,
        include_str!("../../../nats/kv/quotes.json"),
    ),
    (
        <contracts::valuation::ValuationLeases as contracts::Bucket>::NAME,
        include_str!("../../../nats/kv/valuation_leases.json"),
    ),
    (
        <contracts::terminal::TerminalInstances as contracts::Bucket>::NAME,
        include_str!("../../../nats/kv/terminal_instances.json"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the definition of {name} is not valid: {source}")]
    Definition {
        name: String,
        source: serde_json::Error,
    },
    #[error("cannot provision {name}: {source}")]
    Server {
        name: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<ProvisionError> for BusError {
    fn from(err: ProvisionError) -> Self {
        BusError::nats(err)
    }
}

/// Replica count applied to every stream and bucket (1 on one server, 3 on the cluster).
#[derive(Debug, Clone, Copy)]
pub struct Replicas(pub usize);

impl Default for Replicas {
    fn default() -> Self {
        Self(1)
    }
}

/// Creates or updates every stream and bucket of this deployment.
pub async fn ensure_all(bus: &Bus, replicas: Replicas) -> Result<(), ProvisionError> {
    for (name, json) in STREAMS {
        ensure_stream(bus, name, json, replicas).await?;
    }
    for (name, json) in BUCKETS {
        ensure_bucket(bus, name, json, replicas).await?;
    }
    Ok(())
}

/// Deletes every stream, KV bucket and object store the (non-empty) `prefixes` own
/// ([`Prefix::owns_stream`]), for scratch deployments: a test's, the bench's. Returns what could
/// not be deleted, with why; an error when the streams cannot be listed.
pub async fn delete_all(
    js: &jetstream::Context,
    prefixes: &[&Prefix],
) -> Result<Vec<(String, String)>, BusError> {
    let names: Vec<String> = js
        .stream_names()
        .try_collect()
        .await
        .map_err(BusError::nats)?;
    let mut failed = Vec::new();
    for name in names {
        if !prefixes.iter().any(|prefix| prefix.owns_stream(&name)) {
            continue;
        }
        match js.delete_stream(&name).await {
            Ok(_) => {}
            // Deleted meanwhile (by another clean-up): nothing to remove.
            Err(err)
                if matches!(err.kind(), jetstream::context::DeleteStreamErrorKind::JetStream(e)
                    if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) => {}
            Err(err) => failed.push((name, err.to_string())),
        }
    }
    Ok(failed)
}

/// The declared config of one stream, with the deployment prefix and replica count applied.
pub fn stream_config(
    bus: &Bus,
    name: &str,
    json: &str,
    replicas: Replicas,
) -> Result<stream::Config, ProvisionError> {
    let mut config: stream::Config =
        serde_json::from_str(json).map_err(|source| ProvisionError::Definition {
            name: name.to_owned(),
            source,
        })?;
    config.name = bus.prefix().stream(&config.name);
    config.subjects = config
        .subjects
        .iter()
        .map(|s| bus.prefix().subject(s))
        .collect();
    config.num_replicas = replicas.0;
    Ok(config)
}

async fn ensure_stream(
    bus: &Bus,
    name: &str,
    json: &str,
    replicas: Replicas,
) -> Result<(), ProvisionError> {
    let desired = stream_config(bus, name, json, replicas)?;
    let server_err = |source: Box<dyn std::error::Error + Send + Sync>| ProvisionError::Server {
        name: desired.name.clone(),
        source,
    };
    let js = bus.jetstream();
    match js.get_stream(&desired.name).await {
        Ok(mut existing) => {
            let current = existing
                .info()
                .await
                .map_err(|e| server_err(e.into()))?
                .config
                .clone();
            if differs(&desired, &current, json) {
                tracing::info!(stream = %desired.name, "stream definition changed; updating");
                js.update_stream(&desired)
                    .await
                    .map_err(|e| server_err(e.into()))?;
            }
        }
        Err(err) if is_not_found(&err) => {
            tracing::info!(stream = %desired.name, "creating stream");
            // Two instances starting together may both get here; the loser sees "already in use".
            if let Err(create_err) = js.create_stream(desired.clone()).await {
                js.get_stream(&desired.name)
                    .await
                    .map_err(|_| server_err(create_err.into()))?;
            }
        }
        Err(err) => return Err(server_err(err.into())),
    }
    Ok(())
}

fn is_not_found(err: &jetstream::context::GetStreamError) -> bool {
    matches!(err.kind(), jetstream::context::GetStreamErrorKind::JetStream(e)
        if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND)
}

/// True when a setting written in the definition file (or the name/subjects/replicas we
/// apply) differs from what the server has. Settings the file leaves out keep the server's
/// value, so a default filled in by the server is not mistaken for a change.
fn differs(desired: &stream::Config, current: &stream::Config, json: &str) -> bool {
    let declared: HashMap<String, serde_json::Value> =
        serde_json::from_str(json).unwrap_or_default();
    let (Ok(serde_json::Value::Object(want)), Ok(serde_json::Value::Object(have))) =
        (serde_json::to_value(desired), serde_json::to_value(current))
    else {
        return true;
    };
    declared
        .keys()
        .map(String::as_str)
        .chain(["name", "subjects", "num_replicas"])
        .any(|key| want.get(key) != have.get(key))
}

#[derive(Debug, Deserialize)]
struct BucketSpec {
    bucket: String,
    #[serde(default)]
    description: String,
    #[serde(default = "one")]
    history: i64,
    #[serde(default)]
    max_age_seconds: u64,
    #[serde(default)]
    max_bytes: Option<i64>,
    #[serde(default)]
    storage: Option<stream::StorageType>,
}

fn one() -> i64 {
    1
}

async fn ensure_bucket(
    bus: &Bus,
    name: &str,
    json: &str,
    replicas: Replicas,
) -> Result<(), ProvisionError> {
    let spec: BucketSpec =
        serde_json::from_str(json).map_err(|source| ProvisionError::Definition {
            name: name.to_owned(),
            source,
        })?;
    let bucket = bus.prefix().bucket(&spec.bucket);
    let server_err = |source: Box<dyn std::error::Error + Send + Sync>| ProvisionError::Server {
        name: bucket.clone(),
        source,
    };
    let js = bus.jetstream();
    // A bucket is the stream KV_<bucket>; compare the settings we declare on that stream.
    if let Ok(mut existing) = js.get_stream(format!("KV_{bucket}")).await {
        let mut config = existing
            .info()
            .await
            .map_err(|e| server_err(e.into()))?
            .config
            .clone();
        let max_age = std::time::Duration::from_secs(spec.max_age_seconds);
        let changed = config.max_messages_per_subject != spec.history
            || config.num_replicas != replicas.0
            || config.max_age != max_age
            || config.description.as_deref().unwrap_or_default() != spec.description;
        if changed {
            tracing::info!(bucket = %bucket, "bucket definition changed; updating");
            config.max_messages_per_subject = spec.history;
            config.num_replicas = replicas.0;
            config.max_age = max_age;
            config.description = Some(spec.description.clone());
            js.update_stream(&config)
                .await
                .map_err(|e| server_err(e.into()))?;
        }
        return Ok(());
    }
    tracing::info!(bucket = %bucket, "creating KV bucket");
    // The stream a KV bucket is made of, as async-nats' `create_key_value` would build it. We
    // build it ourselves because that call first reads the account info, whose reply from
    // nats-server 2.9 async-nats 0.51 cannot decode.
    let config = stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(spec.description),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: spec.history.max(1),
        max_bytes: spec.max_bytes.unwrap_or(-1),
        max_age: std::time::Duration::from_secs(spec.max_age_seconds),
        max_message_size: -1,
        storage: spec.storage.unwrap_or(stream::StorageType::File),
        allow_rollup: true,
        deny_delete: true,
        deny_purge: false,
        allow_direct: true,
        num_replicas: replicas.0,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    };
    if let Err(create_err) = js.create_stream(config).await {
        js.get_key_value(&bucket)
            .await
            .map_err(|_| server_err(create_err.into()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_parses_and_names_its_stream() {
        for (name, json) in STREAMS {
            let config: stream::Config = serde_json::from_str(json).unwrap();
            assert_eq!(&config.name, name);
            assert!(!config.subjects.is_empty(), "{name}");
            assert!(
                config.subjects.iter().all(|s| s.starts_with("evt.")),
                "{name}: only events are kept"
            );
        }
        for (name, json) in BUCKETS {
            let spec: BucketSpec = serde_json::from_str(json).unwrap();
            assert_eq!(&spec.bucket, name);
        }
    }

    #[test]
    fn the_portfolio_audit_log_denies_delete_and_purge() {
        let (_, json) = STREAMS
            .iter()
            .find(|(name, _)| *name == "PORTFOLIO")
            .unwrap();
        let config: stream::Config = serde_json::from_str(json).unwrap();
        assert!(config.deny_delete && config.deny_purge);
    }
}
