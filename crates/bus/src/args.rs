//! The NATS part of every binary's configuration, flattened into each `Config` with clap.

use std::time::Duration;

use crate::{Bus, BusConfig, BusError, Prefix, provision::Replicas};

/// How to reach NATS and which deployment to be part of.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL; a comma-separated list seeds a cluster.
    #[arg(long, env = "BOURSE_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,

    /// Deployment prefix put in front of every subject, stream and bucket (one token of
    /// A-Z a-z 0-9 _ -). Empty for the names as documented.
    #[arg(long, env = "BOURSE_SUBJECT_PREFIX", default_value = "", value_parser = parse_prefix)]
    pub subject_prefix: Prefix,

    /// Replicas of every stream and KV bucket: 1 on one server, 3 on a 3-node cluster.
    #[arg(long, env = "BOURSE_STREAM_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub stream_replicas: u8,

    /// How long a request over NATS waits for its reply (e.g. `5s`, `500ms`).
    #[arg(long, env = "BOURSE_REQUEST_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
}

impl NatsArgs {
    /// Connects under the name `connection_name` (shown by `nats server report connections`).
    pub async fn connect(&self, connection_name: &str) -> Result<Bus, BusError> {
        let mut config =
            BusConfig::new(&self.nats_url, self.subject_prefix.clone(), connection_name);
        config.request_timeout = self.request_timeout;
        Bus::connect(config).await
    }

    pub fn replicas(&self) -> Replicas {
        Replicas(usize::from(self.stream_replicas))
    }
}

fn parse_prefix(raw: &str) -> Result<Prefix, String> {
    Prefix::new(raw).map_err(|err| err.to_string())
}
