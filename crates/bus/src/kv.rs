//! Typed KV buckets: [`Bus::bucket`] opens the bucket a [`contracts::Bucket`] declares, and
//! [`Kv`] puts and gets its values as their contract type, so no caller spells a bucket name or
//! encodes a value by hand.

use std::marker::PhantomData;

use async_nats::jetstream::kv::{self, Operation};
use contracts::Bucket;
use futures::{Stream, StreamExt};

use crate::{Bus, BusError};

impl Bus {
    /// The bucket `B` declares, under this deployment's prefix (it must have been provisioned).
    pub async fn bucket<B: Bucket>(&self) -> Result<Kv<B>, BusError> {
        let store = self
            .jetstream()
            .get_key_value(self.prefix().bucket(B::NAME))
            .await
            .map_err(BusError::nats)?;
        Ok(Kv {
            store,
            _bucket: PhantomData,
        })
    }
}

/// A handle on the bucket `B`; cheap to clone.
pub struct Kv<B: Bucket> {
    store: kv::Store,
    _bucket: PhantomData<fn() -> B>,
}

impl<B: Bucket> Clone for Kv<B> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            _bucket: PhantomData,
        }
    }
}

impl<B: Bucket> std::fmt::Debug for Kv<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv").field("bucket", &B::NAME).finish()
    }
}

/// One change seen by [`Kv::watch_all`].
#[derive(Debug)]
pub enum Change<B: Bucket> {
    Put(B::Key, B::Value),
    Deleted(B::Key),
    /// A value that does not decode as `B::Value` (what a reader should treat as absent).
    Undecodable(B::Key, serde_json::Error),
}

impl<B: Bucket> Kv<B> {
    /// The value at `key`, if any. A value that does not decode is [`BusError::Decode`].
    pub async fn get(&self, key: &B::Key) -> Result<Option<B::Value>, BusError> {
        let raw = B::key(key);
        let Some(bytes) = self.store.get(&raw).await.map_err(BusError::nats)? else {
            return Ok(None);
        };
        decode::<B>(&raw, &bytes).map(Some)
    }

    /// Writes `value` at `key`; answers the bucket's revision.
    pub async fn put(&self, key: &B::Key, value: &B::Value) -> Result<u64, BusError> {
        let bytes = serde_json::to_vec(value).map_err(BusError::Encode)?;
        self.store
            .put(B::key(key), bytes.into())
            .await
            .map_err(BusError::nats)
    }

    /// Deletes the value at `key` (a delete marker, as KV keeps history).
    pub async fn delete(&self, key: &B::Key) -> Result<(), BusError> {
        self.store.delete(B::key(key)).await.map_err(BusError::nats)
    }

    /// Writes `value` at `key` only if the key holds nothing (never written, deleted or
    /// expired); answers the new revision. It fails when the key holds a value, as when NATS is
    /// away: either way the caller does not own the key.
    pub async fn create(&self, key: &B::Key, value: &B::Value) -> Result<u64, BusError> {
        let bytes = serde_json::to_vec(value).map_err(BusError::Encode)?;
        self.store
            .create(B::key(key), bytes.into())
            .await
            .map_err(BusError::nats)
    }

    /// Writes `value` at `key` only if its last revision is `revision` (compare-and-set).
    pub async fn update(
        &self,
        key: &B::Key,
        value: &B::Value,
        revision: u64,
    ) -> Result<u64, BusError> {
        let bytes = serde_json::to_vec(value).map_err(BusError::Encode)?;
        self.store
            .update(B::key(key), bytes.into(), revision)
            .await
            .map_err(BusError::nats)
    }

    /// Deletes the value at `key` only if its last revision is `revision`.
    pub async fn delete_at(&self, key: &B::Key, revision: u64) -> Result<(), BusError> {
        self.store
            .delete_expect_revision(B::key(key), Some(revision))
            .await
            .map_err(BusError::nats)
    }

    /// Every key holding a value now; keys this bucket never writes are left out.
    ///
    /// Read with a pull consumer and only as many messages as were pending at its creation:
    /// async-nats' `Store::keys` reads on until the server says nothing is pending, and a put
    /// racing with it left it waiting forever (seen: terminal list requests timing out while
    /// an instance renewed its key).
    pub async fn keys(&self) -> Result<Vec<B::Key>, BusError> {
        use async_nats::jetstream::consumer::{DeliverPolicy, pull};
        let prefix = &self.store.prefix;
        let consumer = self
            .store
            .stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: format!("{prefix}>"),
                headers_only: true,
                deliver_policy: DeliverPolicy::LastPerSubject,
                ..Default::default()
            })
            .await
            .map_err(BusError::nats)?;
        // The keys as of the consumer's creation: exactly its first `num_pending` messages. A
        // put after that is delivered later and may never be (seen on nats-server 2.9: a
        // message saying one more is pending, then nothing), so nothing past them is awaited.
        let snapshot = consumer.cached_info().num_pending;
        let mut keys = Vec::new();
        if snapshot == 0 {
            return Ok(keys);
        }
        let mut messages = consumer.messages().await.map_err(BusError::nats)?;
        for _ in 0..snapshot {
            let Some(message) = messages.next().await else {
                break;
            };
            let message = message.map_err(BusError::nats)?;
            let operation = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get("KV-Operation"))
                .map(|value| value.as_str().to_owned());
            if !matches!(operation.as_deref(), Some("DEL" | "PURGE"))
                && let Some(key) = message
                    .subject
                    .strip_prefix(prefix.as_str())
                    .and_then(B::parse_key)
            {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The latest value of every key, then every change, for as long as the watch lasts. A
    /// key the bucket never writes is an `Err` item naming it, a value that does not decode a
    /// [`Change::Undecodable`] (the watch goes on either way); a broken watch is an `Err` and
    /// then the end of the stream.
    pub async fn watch_all(
        &self,
    ) -> Result<impl Stream<Item = Result<Change<B>, BusError>> + Send + use<B>, BusError> {
        let watch = self
            .store
            .watch_with_history(">")
            .await
            .map_err(BusError::nats)?;
        Ok(watch.map(|entry| {
            let entry = entry.map_err(BusError::nats)?;
            let key = B::parse_key(&entry.key).ok_or_else(|| BusError::Decode {
                subject: entry.key.clone(),
                source: serde::de::Error::custom("not a key of this bucket"),
            })?;
            Ok(match entry.operation {
                Operation::Put => match serde_json::from_slice(&entry.value) {
                    Ok(value) => Change::Put(key, value),
                    Err(err) => Change::Undecodable(key, err),
                },
                Operation::Delete | Operation::Purge => Change::Deleted(key),
            })
        }))
    }
}

fn decode<B: Bucket>(key: &str, bytes: &[u8]) -> Result<B::Value, BusError> {
    serde_json::from_slice(bytes).map_err(|source| BusError::Decode {
        subject: format!("{}/{key}", B::NAME),
        source,
    })
}
