//! `bourse svc ls|info|stats`: the services of this deployment, found with ADR-32 discovery
//! (`$SRV.PING/INFO/STATS`, what `nats micro` uses) through `bus`, which keeps only the
//! instances announcing this deployment's prefix. Tables by default, raw JSON with `--json`.

use std::{collections::BTreeMap, time::Duration};

use anyhow::bail;
use async_nats::service::{Info, PingResponse, Stats};
use bus::{Bus, NatsArgs, discovery::Verb, discovery::Window, service::PREFIX_METADATA};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::table;

/// Inspect running services.
#[derive(Debug, Subcommand)]
pub(crate) enum SvcCommand {
    /// List services: name, version, number of instances and their ids.
    Ls(DiscoveryArgs),
    /// Show one service: description, metadata, and its endpoints with their subjects.
    Info {
        /// The service name, as `bourse svc ls` shows it (e.g. `market`).
        name: String,
        #[command(flatten)]
        discovery: DiscoveryArgs,
    },
    /// Per-endpoint statistics: requests, errors, average processing time, last error.
    Stats {
        /// Only this service (all services when left out).
        name: Option<String>,
        #[command(flatten)]
        discovery: DiscoveryArgs,
    },
}

/// How to ask.
#[derive(Debug, Args)]
pub(crate) struct DiscoveryArgs {
    /// Print the raw ADR-32 JSON replies instead of a table.
    #[arg(long, env = "BOURSE_SVC_JSON")]
    json: bool,

    /// How long to collect replies (e.g. `1s`, `500ms`).
    #[arg(long, env = "BOURSE_DISCOVERY_WAIT", default_value = "1s", value_parser = humantime::parse_duration)]
    wait: Duration,

    #[command(flatten, next_help_heading = "NATS")]
    nats: NatsArgs,
}

pub(crate) async fn run(command: SvcCommand) -> anyhow::Result<()> {
    let (verb, name, discovery) = match &command {
        SvcCommand::Ls(discovery) => (Verb::Ping, None, discovery),
        SvcCommand::Info { name, discovery } => (Verb::Info, Some(name.as_str()), discovery),
        SvcCommand::Stats { name, discovery } => (Verb::Stats, name.as_deref(), discovery),
    };
    let bus = discovery.nats.connect("bourse-svc").await?;
    let window = Window {
        max_wait: discovery.wait,
        ..Window::default()
    };
    let (out, found) = if discovery.json {
        let replies = raw(&bus, verb, name, window).await?;
        (serde_json::to_string_pretty(&replies)?, !replies.is_empty())
    } else {
        let out = match verb {
            Verb::Ping => render_ls(&bus.ping_services(None, window).await?),
            Verb::Info => render_info(&bus.service_infos(name, window).await?),
            Verb::Stats => render_stats(&bus.service_stats(name, window).await?),
        };
        let found = !out.is_empty();
        (out, found)
    };
    match (found, name) {
        (false, Some(name)) => bail!(
            "no instance of service {name:?} answered{}",
            deployment(&bus)
        ),
        (false, None) => eprintln!("no service answered{}", deployment(&bus)),
        (true, _) => {}
    }
    if !out.is_empty() {
        println!("{out}");
    }
    Ok(())
}

fn deployment(bus: &Bus) -> String {
    if bus.prefix().is_empty() {
        String::new()
    } else {
        format!(" under the subject prefix {:?}", bus.prefix().as_str())
    }
}

/// The replies as the services sent them, limited to this deployment like the typed calls.
async fn raw(
    bus: &Bus,
    verb: Verb,
    name: Option<&str>,
    window: Window,
) -> anyhow::Result<Vec<Value>> {
    let replies = bus.collect_raw(verb, name, window).await?;
    // The same rule as `bus`: the announced prefix (none counts as empty) must be ours.
    let ours = |reply: &Value| {
        let announced = reply
            .pointer(&format!("/metadata/{PREFIX_METADATA}"))
            .and_then(Value::as_str);
        announced.unwrap_or_default() == bus.prefix().as_str()
    };
    let kept: Vec<Value> = match verb {
        Verb::Ping | Verb::Info => replies.into_iter().filter(ours).collect(),
        // Stats replies carry no metadata: keep those whose instance answered a ping as ours.
        Verb::Stats => {
            let ids: Vec<String> = bus
                .ping_services(name, window)
                .await?
                .into_iter()
                .map(|p| p.id)
                .collect();
            replies
                .into_iter()
                .filter(|r| {
                    r["id"]
                        .as_str()
                        .is_some_and(|id| ids.iter().any(|i| i == id))
                })
                .collect()
        }
    };
    Ok(kept)
}

/// One row per service name and version: how many instances, and their ids.
pub(crate) fn render_ls(pings: &[PingResponse]) -> String {
    if pings.is_empty() {
        return String::new();
    }
    let mut services: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for ping in pings {
        services
            .entry((ping.name.as_str(), ping.version.as_str()))
            .or_default()
            .push(ping.id.as_str());
    }
    let rows = services.into_iter().map(|((name, version), mut ids)| {
        ids.sort_unstable();
        vec![
            name.to_owned(),
            version.to_owned(),
            ids.len().to_string(),
            ids.join("\n"),
        ]
    });
    table::render(&["name", "version", "instances", "id"], rows)
}

/// Description, metadata and endpoints of each distinct version of the service.
pub(crate) fn render_info(infos: &[Info]) -> String {
    let mut versions: BTreeMap<(&str, &str), Vec<&Info>> = BTreeMap::new();
    for info in infos {
        versions
            .entry((info.name.as_str(), info.version.as_str()))
            .or_default()
            .push(info);
    }
    let mut blocks = Vec::new();
    for ((name, version), instances) in versions {
        let Some(first) = instances.first() else {
            continue;
        };
        let mut ids: Vec<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        let description = if first.description.is_empty() {
            "-"
        } else {
            first.description.as_str()
        };
        let mut block = format!(
            "{name} {version}\n  description: {description}\n  instances:   {} ({})\n  metadata:    {}\n",
            ids.len(),
            ids.join(", "),
            table::key_values(&first.metadata).replace('\n', ", ")
        );
        let mut endpoints: Vec<_> = first.endpoints.iter().collect();
        endpoints.sort_by(|a, b| a.subject.cmp(&b.subject));
        let rows = endpoints.into_iter().map(|e| {
            vec![
                e.name.clone(),
                e.subject.clone(),
                e.queue_group.clone(),
                table::key_values(&e.metadata),
            ]
        });
        block.push_str(&table::render(
            &["endpoint", "subject", "queue group", "metadata"],
            rows,
        ));
        blocks.push(block);
    }
    blocks.join("\n\n")
}

/// One row per service instance and endpoint.
pub(crate) fn render_stats(stats: &[Stats]) -> String {
    if stats.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&Stats> = stats.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let rows = sorted.into_iter().flat_map(|service| {
        let mut endpoints: Vec<_> = service.endpoints.iter().collect();
        endpoints.sort_by(|a, b| a.name.cmp(&b.name));
        endpoints.into_iter().map(move |e| {
            vec![
                format!("{} {}", service.name, service.version),
                service.id.clone(),
                e.name.clone(),
                e.requests.to_string(),
                e.errors.to_string(),
                average(e.average_processing_time, e.requests),
                e.last_error.as_ref().map_or_else(
                    || "-".to_owned(),
                    |err| format!("{} {}", err.code, err.status),
                ),
            ]
        })
    });
    table::render(
        &[
            "service",
            "instance",
            "endpoint",
            "requests",
            "errors",
            "avg time",
            "last error",
        ],
        rows,
    )
}

fn average(average: Duration, requests: usize) -> String {
    if requests == 0 {
        "-".to_owned()
    } else {
        format!("{average:.3?}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ping(name: &str, version: &str, id: &str) -> PingResponse {
        serde_json::from_value(json!({"type": "io.nats.micro.v1.ping_response", "name": name, "id": id, "version": version, "metadata": {}})).unwrap()
    }

    #[test]
    fn ls_groups_instances_of_one_service() {
        let out = render_ls(&[
            ping("market", "0.1.0", "B2"),
            ping("gateway", "0.1.0", "G1"),
            ping("market", "0.1.0", "A1"),
        ]);
        let gateway = out.lines().position(|l| l.contains("gateway")).unwrap();
        let market = out.lines().position(|l| l.contains("market")).unwrap();
        assert!(gateway < market, "sorted by name:\n{out}");
        let market_line = out.lines().nth(market).unwrap();
        assert!(
            market_line.contains(" 2 ") && market_line.contains("A1"),
            "{out}"
        );
        assert!(
            out.lines().nth(market + 1).unwrap().contains("B2"),
            "second id on the next line:\n{out}"
        );
        assert_eq!(render_ls(&[]), "");
    }

    #[test]
    fn info_shows_description_metadata_and_endpoint_subjects() {
        let info: Info = serde_json::from_value(json!({
            "type": "io.nats.micro.v1.info_response", "name": "market", "id": "X1", "version": "0.1.0",
            "description": "Symbols, quotes, history", "metadata": {"bourse_prefix": "t1"},
            "endpoints": [
                {"name": "quote_get", "subject": "t1.market.v1.quote.get", "queue_group": "q", "metadata": null},
                {"name": "history_get", "subject": "t1.market.v1.history.get", "queue_group": "q"}
            ]
        }))
        .unwrap();
        let out = render_info(&[info]);
        assert!(out.starts_with("market 0.1.0\n"), "{out}");
        assert!(
            out.contains("description: Symbols, quotes, history"),
            "{out}"
        );
        assert!(out.contains("bourse_prefix: t1"), "{out}");
        let history = out.find("t1.market.v1.history.get").unwrap();
        let quote = out.find("t1.market.v1.quote.get").unwrap();
        assert!(history < quote, "endpoints sorted by subject:\n{out}");
    }

    #[test]
    fn stats_show_counts_average_time_and_last_error() {
        let stats: Stats = serde_json::from_value(json!({
            "type": "io.nats.micro.v1.stats_response", "name": "market", "id": "X1", "version": "0.1.0",
            "started": "2026-11-22T02:00:00Z",
            "endpoints": [
                {"name": "quote_get", "subject": "market.v1.quote.get", "queue_group": "q", "num_requests": 4,
                 "num_errors": 1, "processing_time": 8000000, "average_processing_time": 2000000,
                 "last_error": "404:no quote for ZZZ"},
                {"name": "history_get", "subject": "market.v1.history.get", "queue_group": "q", "num_requests": 0,
                 "num_errors": 0, "processing_time": 0, "average_processing_time": 0, "last_error": ""}
            ]
        }))
        .unwrap();
        let out = render_stats(&[stats]);
        let quote = out.lines().find(|l| l.contains("quote_get")).unwrap();
        for cell in [
            "market 0.1.0",
            "X1",
            " 4 ",
            " 1 ",
            "2.000ms",
            "404 no quote for ZZZ",
        ] {
            assert!(quote.contains(cell), "{cell:?} missing in {quote:?}");
        }
        let history = out.lines().find(|l| l.contains("history_get")).unwrap();
        assert!(
            history.contains(" - "),
            "no average without requests: {history:?}"
        );
    }
}
