//! The transactional outbox: a state change and its event are written in one transaction, and a
//! relay publishes the events to JetStream afterwards.
//!
//! A service that uses it adds this table to its schema in one of its migrations:
//! ```sql
//! create table outbox (
//!     outbox_id  bigint generated always as identity constraint outbox_pkey primary key,
//!     event_id   uuid not null constraint outbox_event_id_key unique,
//!     subject    text not null,          -- without the deployment prefix
//!     payload    jsonb not null,
//!     headers    jsonb not null default '{}',
//!     created_at timestamptz not null default now(),
//!     sent_at    timestamptz
//! );
//! create index outbox_unsent_idx on outbox (outbox_id) where sent_at is null;
//! ```
//! [`enqueue`] (one event) and [`enqueue_all`] (many, of any types, in one statement) insert in
//! the caller's transaction and notify `bourse_outbox` (delivered at commit). [`Relay`] takes a batch with `FOR UPDATE SKIP LOCKED` (several relays never take
//! the same rows), publishes with `Nats-Msg-Id` = event id, waits for every ack, marks the batch
//! sent and commits. A relay that dies mid-batch leaves its rows unsent; the next run publishes
//! them again and JetStream's duplicate window drops what had already arrived, so every event
//! lands exactly once.
//!
//! The queries are unchecked (`sqlx::query`) on purpose: the table is found through the
//! service's `search_path` (see [`crate::pg`]), so one relay serves every service's schema.

use std::{collections::HashMap, time::Duration};

use async_nats::HeaderMap;
use contracts::Event;
use sqlx::{PgConnection, PgPool, Row, postgres::PgListener};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{Bus, BusError, RequestContext};

/// The Postgres channel the relay listens on.
pub const CHANNEL: &str = "bourse_outbox";

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot encode the event: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("publishing to JetStream failed: {0}")]
    Publish(#[from] BusError),
}

/// Writes `event` to the outbox inside the caller's transaction.
pub async fn enqueue<E: Event>(
    conn: &mut PgConnection,
    ctx: &RequestContext,
    event: &E,
) -> Result<(), OutboxError> {
    enqueue_all(conn, ctx, &[Outgoing::of(event)?]).await
}

/// An event encoded for the outbox, whatever its type: [`enqueue_all`] writes many of them, of
/// several types, at once.
#[derive(Debug, Clone)]
pub struct Outgoing {
    event_id: Uuid,
    subject: String,
    payload: serde_json::Value,
    /// The headers of the request that caused it, when not those given to [`enqueue_all`].
    headers: Option<serde_json::Value>,
}

impl Outgoing {
    pub fn of<E: Event>(event: &E) -> Result<Self, OutboxError> {
        Ok(Self {
            event_id: event.event_id(),
            subject: event.subject(),
            payload: serde_json::to_value(event)?,
            headers: None,
        })
    }

    /// Published with `ctx`'s headers (correlation id, trace, user) rather than those of the
    /// [`enqueue_all`] call: for events of several requests written together.
    pub fn caused_by(mut self, ctx: &RequestContext) -> Result<Self, OutboxError> {
        self.headers = Some(headers_of(ctx)?);
        Ok(self)
    }
}

/// `ctx`'s headers as the outbox stores them.
fn headers_of(ctx: &RequestContext) -> Result<serde_json::Value, OutboxError> {
    let headers: HashMap<String, String> = ctx
        .to_headers()
        .iter()
        .filter_map(|(name, values)| Some((name.to_string(), values.first()?.to_string())))
        .collect();
    Ok(serde_json::to_value(headers)?)
}

/// Writes `events` to the outbox inside the caller's transaction, in their order, with one
/// statement (a trade's two events, an import's thousand, cost one round trip to Postgres).
pub async fn enqueue_all(
    conn: &mut PgConnection,
    ctx: &RequestContext,
    events: &[Outgoing],
) -> Result<(), OutboxError> {
    if events.is_empty() {
        return Ok(());
    }
    let common = headers_of(ctx)?;
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let subjects: Vec<&str> = events.iter().map(|e| e.subject.as_str()).collect();
    let payloads: Vec<serde_json::Value> = events.iter().map(|e| e.payload.clone()).collect();
    let headers: Vec<serde_json::Value> = events
        .iter()
        .map(|e| e.headers.clone().unwrap_or_else(|| common.clone()))
        .collect();
    // A data-modifying CTE runs to completion whatever the outer query reads; `with ordinality`
    // keeps the given order in `outbox_id`, which is the publishing order. The notification is
    // delivered at commit.
    sqlx::query(
        "with written as (
             insert into outbox (event_id, subject, payload, headers)
             select event_id, subject, payload, headers
             from unnest($1::uuid[], $2::text[], $3::jsonb[], $4::jsonb[]) with ordinality
                  as e(event_id, subject, payload, headers, position)
             order by position
             returning 1)
         select pg_notify($5, current_schema())",
    )
    .bind(ids)
    .bind(subjects)
    .bind(payloads)
    .bind(headers)
    .bind(CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Publishes what [`enqueue`] wrote.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    bus: Bus,
    batch_size: i64,
    poll_interval: Duration,
    retention: Duration,
}

impl Relay {
    pub fn new(pool: PgPool, bus: Bus) -> Self {
        Self {
            pool,
            bus,
            batch_size: 100,
            poll_interval: Duration::from_secs(5),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }

    pub fn batch_size(mut self, size: i64) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// How often to look for rows when no notification arrives (notifications are a fast path;
    /// polling is what guarantees progress).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Publishes one batch; returns how many events it published (0 = nothing to do).
    pub async fn try_run_once(&self) -> Result<usize, OutboxError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "select outbox_id, event_id, subject, payload, headers from outbox \
             where sent_at is null order by outbox_id limit $1 for update skip locked",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Send the whole batch first, then wait for the acks: one round trip, not one per event.
        let mut pending = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let event_id: Uuid = row.try_get("event_id")?;
            let subject: String = row.try_get("subject")?;
            let payload: serde_json::Value = row.try_get("payload")?;
            let stored: HashMap<String, String> = serde_json::from_value(row.try_get("headers")?)?;
            let mut headers = HeaderMap::new();
            for (name, value) in &stored {
                headers.insert(name.as_str(), value.as_str());
            }
            let body = serde_json::to_vec(&payload)?;
            pending.push(
                self.bus
                    .publish_event_bytes(&subject, &event_id.to_string(), headers, body.into())
                    .await?,
            );
            ids.push(row.try_get::<i64, _>("outbox_id")?);
        }
        for ack in pending {
            ack.await.map_err(BusError::nats)?;
        }
        sqlx::query("update outbox set sent_at = now() where outbox_id = any($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Drains the outbox until `shutdown`: after a notification, every poll interval, and at
    /// start (which is what drains a backlog left by a crash).
    ///
    /// Under load, commits notify far more often than a batch takes: the notifications that
    /// arrived meanwhile are all answered by the next pass, which takes whatever accumulated
    /// (one batch per pass rather than one per commit), and a pass ends on a batch that was not
    /// full instead of spending a query on finding the outbox empty.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = self.listen().await;
        let mut last_cleanup = tokio::time::Instant::now();
        loop {
            // Before reading the rows: a commit notifying after this is read by the next pass.
            if let Some(listener) = listener.as_mut() {
                while listener.next_buffered().is_some() {}
            }
            match self.publish_waiting().await {
                Ok(0) => {}
                Ok(sent) => tracing::debug!(sent, "outbox drained"),
                Err(err) => tracing::warn!(error = %err, "outbox relay failed; retrying"),
            }
            if last_cleanup.elapsed() > Duration::from_secs(3600) {
                last_cleanup = tokio::time::Instant::now();
                if let Err(err) = self.delete_sent().await {
                    tracing::warn!(error = %err, "deleting old outbox rows failed");
                }
            }
            let notified = async {
                match listener.as_mut() {
                    Some(listener) => {
                        if listener.recv().await.is_err() {
                            tokio::time::sleep(self.poll_interval).await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = notified => {}
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }

    /// Publishes batches until one is not full; returns how many events it published.
    async fn publish_waiting(&self) -> Result<usize, OutboxError> {
        let mut total = 0;
        loop {
            let sent = self.try_run_once().await?;
            total += sent;
            if i64::try_from(sent).unwrap_or(i64::MAX) < self.batch_size {
                return Ok(total);
            }
        }
    }

    /// Publishes batches until the outbox is empty; returns how many events it published. A
    /// service calls it at shutdown, after its requests stopped, so what they wrote leaves
    /// before the process ends.
    pub async fn drain(&self) -> Result<usize, OutboxError> {
        let mut total = 0;
        loop {
            let sent = self.try_run_once().await?;
            total += sent;
            if sent == 0 {
                return Ok(total);
            }
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = PgListener::connect_with(&self.pool).await.ok()?;
        listener.listen(CHANNEL).await.ok()?;
        Some(listener)
    }

    /// Sent rows are kept a while for inspection, then deleted.
    async fn delete_sent(&self) -> Result<u64, sqlx::Error> {
        let seconds = i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX);
        let done = sqlx::query(
            "delete from outbox where sent_at < now() - $1::bigint * interval '1 second'",
        )
        .bind(seconds)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
