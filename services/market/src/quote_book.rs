//! The latest quote of every symbol, in memory, kept current by watching the KV bucket `quotes`.
//!
//! `market.v1.quote.get` is the hottest request of the platform; answering it from memory saves
//! a round trip to the KV store per request. Every instance follows the bucket, wherever the feed
//! runs, so the book is what the bucket holds, a few milliseconds late at most. While the watch is
//! down (NATS restarting) the book is emptied, and reads fall back to the bucket itself: a quote
//! is never served from a book that stopped following.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use bus::kv::{Change, Kv};
use contracts::market::{Quote, Quotes, Ticker};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
pub struct QuoteBook {
    latest: RwLock<HashMap<Ticker, Quote>>,
}

impl QuoteBook {
    /// The latest quote of `symbol` as last seen on the bucket.
    pub fn get(&self, symbol: &Ticker) -> Option<Quote> {
        self.latest.read().ok()?.get(symbol).cloned()
    }

    fn apply(&self, change: Change<Quotes>) {
        let Ok(mut latest) = self.latest.write() else {
            return;
        };
        match change {
            Change::Put(symbol, quote) => {
                latest.insert(symbol, quote);
            }
            Change::Deleted(symbol) => {
                latest.remove(&symbol);
            }
            Change::Undecodable(symbol, err) => {
                // Leave the key out: a read falls back to the bucket and reports it.
                latest.remove(&symbol);
                tracing::warn!(%symbol, error = %err, "undecodable quote in the bucket");
            }
        }
    }

    fn clear(&self) {
        if let Ok(mut latest) = self.latest.write() {
            latest.clear();
        }
    }

    /// Follows `quotes` until `shutdown`: first the latest value of every key, then each change.
    /// A broken watch is started again after a pause; meanwhile the book is empty.
    pub async fn follow(self: Arc<Self>, quotes: Kv<Quotes>, shutdown: CancellationToken) {
        loop {
            match quotes.watch_all().await {
                Ok(watch) => {
                    tokio::pin!(watch);
                    loop {
                        let next = tokio::select! {
                            () = shutdown.cancelled() => return,
                            next = watch.next() => next,
                        };
                        match next {
                            Some(Ok(change)) => self.apply(change),
                            Some(Err(bus::BusError::Decode { subject, source })) => {
                                tracing::warn!(key = %subject, error = %source, "a key that is no ticker in the quotes bucket");
                            }
                            Some(Err(err)) => {
                                tracing::warn!(error = %err, "watching the quotes bucket failed");
                                break;
                            }
                            None => break,
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot watch the quotes bucket"),
            }
            self.clear();
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
