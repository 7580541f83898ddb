//! ADR-32 discovery: ask every service instance on the server for its ping, info or stats.
//!
//! `$SRV.*` subjects carry no deployment prefix, so replies are filtered by the
//! [`PREFIX_METADATA`] that every Bourse service announces; foreign services are left out.

use std::time::Duration;

use async_nats::service::{Info, PingResponse, Stats};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::{Bus, BusError, service::PREFIX_METADATA};

/// The three ADR-32 verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Ping,
    Info,
    Stats,
}

impl Verb {
    fn subject(self, service: Option<&str>) -> String {
        let verb = match self {
            Self::Ping => "PING",
            Self::Info => "INFO",
            Self::Stats => "STATS",
        };
        match service {
            Some(name) => format!("$SRV.{verb}.{name}"),
            None => format!("$SRV.{verb}"),
        }
    }
}

/// How long to collect replies: stop at `max_wait`, or once no reply came for `quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub max_wait: Duration,
    pub quiet: Duration,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_millis(1000),
            quiet: Duration::from_millis(150),
        }
    }
}

impl Bus {
    /// Every instance of this deployment that answers `$SRV.PING`.
    pub async fn ping_services(
        &self,
        service: Option<&str>,
        window: Window,
    ) -> Result<Vec<PingResponse>, BusError> {
        let replies: Vec<PingResponse> = self.collect(Verb::Ping, service, window).await?;
        Ok(replies
            .into_iter()
            .filter(|r| self.owns(&r.metadata))
            .collect())
    }

    pub async fn service_infos(
        &self,
        service: Option<&str>,
        window: Window,
    ) -> Result<Vec<Info>, BusError> {
        let replies: Vec<Info> = self.collect(Verb::Info, service, window).await?;
        Ok(replies
            .into_iter()
            .filter(|r| self.owns(&r.metadata))
            .collect())
    }

    /// Stats replies carry no metadata; they are matched to this deployment by instance id.
    pub async fn service_stats(
        &self,
        service: Option<&str>,
        window: Window,
    ) -> Result<Vec<Stats>, BusError> {
        let (pings, stats) = tokio::try_join!(
            self.ping_services(service, window),
            self.collect::<Stats>(Verb::Stats, service, window)
        )?;
        Ok(stats
            .into_iter()
            .filter(|s| pings.iter().any(|p| p.id == s.id))
            .collect())
    }

    /// The raw JSON replies to one verb, unfiltered (for the CLI's `--json`).
    pub async fn collect_raw(
        &self,
        verb: Verb,
        service: Option<&str>,
        window: Window,
    ) -> Result<Vec<serde_json::Value>, BusError> {
        self.collect(verb, service, window).await
    }

    fn owns(&self, metadata: &std::collections::HashMap<String, String>) -> bool {
        metadata
            .get(PREFIX_METADATA)
            .map(String::as_str)
            .unwrap_or_default()
            == self.prefix().as_str()
    }

    async fn collect<T: DeserializeOwned>(
        &self,
        verb: Verb,
        service: Option<&str>,
        window: Window,
    ) -> Result<Vec<T>, BusError> {
        let client = self.client();
        let inbox = client.new_inbox();
        let mut replies = client
            .subscribe(inbox.clone())
            .await
            .map_err(BusError::nats)?;
        client
            .publish_with_reply(verb.subject(service), inbox, bytes::Bytes::new())
            .await
            .map_err(BusError::nats)?;
        client.flush().await.map_err(BusError::nats)?;
        let deadline = Instant::now() + window.max_wait;
        let mut found = Vec::new();
        loop {
            let now = Instant::now();
            // Wait the full window for the first reply, then only `quiet` for each next one.
            let wait = if found.is_empty() {
                deadline - now
            } else {
                window.quiet.min(deadline - now)
            };
            match tokio::time::timeout(wait, replies.next()).await {
                Ok(Some(message)) => match serde_json::from_slice::<T>(&message.payload) {
                    Ok(reply) => found.push(reply),
                    Err(err) => {
                        tracing::debug!(error = %err, "ignoring an undecodable discovery reply")
                    }
                },
                Ok(None) | Err(_) => break,
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        Ok(found)
    }
}
