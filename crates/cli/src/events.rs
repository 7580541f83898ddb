//! `bourse events tail|replay`: events from JetStream through an ephemeral ordered consumer
//! (one filter subject, nothing newer than nats-server 2.9).
//!
//! The filter is given without the deployment prefix; `bus` adds it, and printed subjects drop
//! it again. The stream is the one whose subjects match the filter, unless `--stream` names it.
//! One line per event: `seq  time  subject  payload`, or JSON lines with `--json`.

use std::{io::Write, time::Duration};

use anyhow::{Context, bail};
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bus::{Bus, NatsArgs};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{ArgGroup, Args, Subcommand};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::shutdown;

/// Read events from the streams.
#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Follow events as they are published; with --seq, --since or --all, start in the past.
    Tail(TailArgs),
    /// Print the events already in the stream (from the start unless --seq or --since), then exit.
    Replay(TailArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("start").args(["seq", "since", "all"])))]
pub(crate) struct TailArgs {
    /// Subject filter without the deployment prefix, e.g. `evt.price.>` or `evt.trade.*.executed`.
    filter: String,

    /// Start at this stream sequence.
    #[arg(long, env = "BOURSE_EVENTS_SEQ", value_parser = clap::value_parser!(u64).range(1..))]
    seq: Option<u64>,

    /// Start at this time: RFC 3339 (`2026-11-20T09:30:00Z`) or a duration back from now (`10m`, `2h`).
    #[arg(long, env = "BOURSE_EVENTS_SINCE", value_parser = parse_since)]
    since: Option<Since>,

    /// Start from the first event the stream still has.
    #[arg(long, env = "BOURSE_EVENTS_ALL")]
    all: bool,

    /// Stop after this many events.
    #[arg(long, env = "BOURSE_EVENTS_LIMIT")]
    limit: Option<u64>,

    /// Stop after the event with this stream sequence.
    #[arg(long, env = "BOURSE_EVENTS_TO_SEQ")]
    to_seq: Option<u64>,

    /// Stream to read, without the deployment prefix (default: the stream that captures the filter).
    #[arg(long, env = "BOURSE_EVENTS_STREAM")]
    stream: Option<String>,

    /// One JSON object per event: seq, subject, time, headers, data.
    #[arg(long, env = "BOURSE_EVENTS_JSON")]
    json: bool,

    #[command(flatten, next_help_heading = "NATS")]
    nats: NatsArgs,
}

/// Where `--since` starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Since {
    At(DateTime<Utc>),
    Ago(Duration),
}

impl Since {
    fn resolve(&self, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
        match self {
            Self::At(at) => Ok(*at),
            Self::Ago(ago) => {
                let ago = chrono::Duration::from_std(*ago).context("--since is too far back")?;
                now.checked_sub_signed(ago)
                    .context("--since is too far back")
            }
        }
    }
}

/// `--since`: an RFC 3339 instant, or a humantime duration (`90s`, `10m`, `1h 30m`) before now.
pub(crate) fn parse_since(raw: &str) -> Result<Since, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw.trim()) {
        return Ok(Since::At(at.with_timezone(&Utc)));
    }
    humantime::parse_duration(raw.trim())
        .map(Since::Ago)
        .map_err(|_| {
            format!(
                "{raw:?} is neither an RFC 3339 time (2026-11-20T09:30:00Z) nor a duration (10m)"
            )
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Keep following.
    Tail,
    /// Stop once caught up with the stream.
    Replay,
}

pub(crate) async fn run(command: EventsCommand) -> anyhow::Result<()> {
    let (args, mode) = match command {
        EventsCommand::Tail(args) => (args, Mode::Tail),
        EventsCommand::Replay(args) => (args, Mode::Replay),
    };
    let bus = args.nats.connect("bourse-events").await?;
    let filter = bus.prefix().subject(&args.filter);
    let stream_name = match &args.stream {
        Some(name) => bus.prefix().stream(name),
        None => stream_for(&bus, &filter).await?,
    };
    let stream = bus
        .jetstream()
        .get_stream(&stream_name)
        .await
        .with_context(|| format!("no stream {stream_name}"))?;
    let config = OrderedConfig {
        filter_subject: filter.clone(),
        deliver_policy: deliver_policy(&args, mode, Utc::now())?,
        ..Default::default()
    };
    let consumer = stream
        .create_consumer(config)
        .await
        .with_context(|| format!("cannot read {stream_name}"))?;
    if mode == Mode::Replay && consumer.cached_info().num_pending == 0 {
        eprintln!("no events on {} in {stream_name}", args.filter);
        return Ok(());
    }
    let mut messages = consumer
        .messages()
        .await
        .with_context(|| format!("cannot read {stream_name}"))?;
    let mut stdout = std::io::stdout().lock();
    let mut printed = 0u64;
    // Created once: a Ctrl-C between two messages must not slip past.
    let interrupted = shutdown::signal();
    tokio::pin!(interrupted);
    loop {
        let message = tokio::select! {
            message = messages.next() => message,
            _ = &mut interrupted => break,
        };
        let Some(message) = message else { break };
        let message = message.with_context(|| format!("reading {stream_name} failed"))?;
        let info = message
            .info()
            .map_err(|err| anyhow::anyhow!("a message without JetStream metadata: {err}"))?;
        let (seq, pending) = (info.stream_sequence, info.pending);
        if args.to_seq.is_some_and(|to| seq > to) {
            break;
        }
        let published =
            DateTime::from_timestamp_nanos(i64::try_from(info.published.unix_timestamp_nanos())?);
        let subject = bus
            .prefix()
            .strip(&message.subject)
            .unwrap_or(&message.subject)
            .to_owned();
        let line = if args.json {
            json_line(
                seq,
                &subject,
                published,
                message.headers.as_ref(),
                &message.payload,
            )
        } else {
            text_line(seq, &subject, published, &message.payload)
        };
        if let Err(err) = writeln!(stdout, "{line}") {
            // `bourse events tail … | head` closes the pipe: a normal way to stop.
            if err.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(err.into());
        }
        printed += 1;
        let caught_up = mode == Mode::Replay && pending == 0;
        if caught_up
            || args.limit.is_some_and(|limit| printed >= limit)
            || args.to_seq.is_some_and(|to| seq >= to)
        {
            break;
        }
    }
    stdout.flush().ok();
    Ok(())
}

fn deliver_policy(
    args: &TailArgs,
    mode: Mode,
    now: DateTime<Utc>,
) -> anyhow::Result<DeliverPolicy> {
    if let Some(start_sequence) = args.seq {
        return Ok(DeliverPolicy::ByStartSequence { start_sequence });
    }
    if let Some(since) = &args.since {
        let at = since.resolve(now)?;
        let nanos = at
            .timestamp_nanos_opt()
            .context("--since is out of range")?;
        let start_time = async_nats::datetime::from_nanos(i128::from(nanos))
            .map_err(|err| anyhow::anyhow!(err))?;
        return Ok(DeliverPolicy::ByStartTime { start_time });
    }
    Ok(if args.all || mode == Mode::Replay {
        DeliverPolicy::All
    } else {
        DeliverPolicy::New
    })
}

/// The one stream whose subjects overlap `filter` (asked with `$JS.API.STREAM.NAMES`).
async fn stream_for(bus: &Bus, filter: &str) -> anyhow::Result<String> {
    let reply: Value = bus
        .jetstream()
        .request("STREAM.NAMES", &json!({ "subject": filter }))
        .await
        .context("cannot list streams (is JetStream enabled?)")?;
    if let Some(error) = reply.get("error") {
        bail!(
            "cannot list streams: {}",
            error["description"].as_str().unwrap_or("unknown error")
        );
    }
    let names: Vec<&str> = reply["streams"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match names.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!(
            "no stream captures {filter:?}; events live under `evt.<aggregate>.…` (is the deployment provisioned? `bourse migrate`)"
        ),
        many => bail!(
            "{filter:?} spans several streams ({}); pick one with --stream",
            many.join(", ")
        ),
    }
}

/// `seq  time  subject  payload`, the payload as compact JSON (or text when it is not JSON).
fn text_line(seq: u64, subject: &str, time: DateTime<Utc>, payload: &[u8]) -> String {
    let data = match payload_value(payload) {
        Value::String(text) => text.replace(['\r', '\n'], " "),
        other => other.to_string(),
    };
    format!(
        "{seq}  {}  {subject}  {data}",
        time.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

fn json_line(
    seq: u64,
    subject: &str,
    time: DateTime<Utc>,
    headers: Option<&async_nats::HeaderMap>,
    payload: &[u8],
) -> String {
    let headers: serde_json::Map<String, Value> = headers
        .map(|headers| {
            headers
                .iter()
                .map(|(name, values)| {
                    let values: Vec<Value> =
                        values.iter().map(|v| Value::from(v.as_str())).collect();
                    let value = if values.len() == 1 {
                        values[0].clone()
                    } else {
                        Value::Array(values)
                    };
                    (name.to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "seq": seq,
        "subject": subject,
        "time": time.to_rfc3339_opts(SecondsFormat::Millis, true),
        "headers": headers,
        "data": payload_value(payload),
    })
    .to_string()
}

/// The payload as JSON when it is, else as a (lossy UTF-8) string.
fn payload_value(payload: &[u8]) -> Value {
    serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_rfc3339_time_in_any_offset() {
        let since = parse_since("2026-11-20T10:30:00+01:00").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-20T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(since, Since::At(at));
    }

    #[test]
    fn since_takes_a_duration_back_from_now() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_since("10m").unwrap(),
            Since::Ago(Duration::from_secs(600))
        );
        assert_eq!(
            parse_since("1h 30m")
                .unwrap()
                .resolve(now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-20T08:00:00+00:00"
        );
    }

    #[test]
    fn since_refuses_anything_else() {
        for bad in ["yesterday", "", "2026-11-20", "10 parsecs"] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_lines_are_compact_json_or_one_line_of_text() {
        let time = DateTime::parse_from_rfc3339("2026-11-20T09:30:00.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let line = text_line(7, "evt.price.AAPL", time, b"{\n  \"price\": \"1.50\"\n}");
        assert_eq!(
            line,
            r#"7  2026-11-20T09:30:00.500Z  evt.price.AAPL  {"price":"1.50"}"#
        );
        assert_eq!(
            text_line(8, "x", time, b"two\nlines"),
            "8  2026-11-20T09:30:00.500Z  x  two lines"
        );
    }

    #[test]
    fn json_lines_carry_seq_subject_time_headers_and_data() {
        let time = DateTime::parse_from_rfc3339("2026-11-20T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", "e1");
        let line: Value = serde_json::from_str(&json_line(
            3,
            "evt.price.X",
            time,
            Some(&headers),
            b"{\"a\":1}",
        ))
        .unwrap();
        assert_eq!(
            line,
            json!({"seq": 3, "subject": "evt.price.X", "time": "2026-11-20T09:30:00.000Z",
                   "headers": {"Nats-Msg-Id": "e1"}, "data": {"a": 1}})
        );
    }
}
