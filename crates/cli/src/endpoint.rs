//! Where a NATS or Postgres URL points: host, port, database, and whether the host is this
//! machine. Pure parsing, so `bourse dev` can decide without any IO whether it may start a
//! server itself (only ever for a local address).

use std::fmt;

/// A host and TCP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Endpoint {
    /// True for loopback and wildcard addresses: a server there runs (or can be started) on
    /// this machine.
    pub(crate) fn is_local(&self) -> bool {
        let host = self.host.as_str();
        host.eq_ignore_ascii_case("localhost")
            || host == "0.0.0.0"
            || host == "::"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What a Postgres URL names: the server, the role and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgTarget {
    pub(crate) endpoint: Endpoint,
    /// The role to connect as (`postgres` when the URL names none).
    pub(crate) user: String,
    /// The database; `None` when the URL has no path.
    pub(crate) database: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum EndpointError {
    #[error("the URL names no server")]
    Empty,
    #[error("the port in {0:?} is not a number from 1 to 65535")]
    BadPort(String),
}

pub(crate) const NATS_DEFAULT_PORT: u16 = 4222;
pub(crate) const POSTGRES_DEFAULT_PORT: u16 = 5432;

/// The servers of a NATS URL list (`nats://127.0.0.1:4222`, `localhost`,
/// `tls://a:4443,nats://b`), in order.
pub(crate) fn nats_endpoints(urls: &str) -> Result<Vec<Endpoint>, EndpointError> {
    let endpoints = urls
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            let (host, port) = authority(url)?;
            Ok(Endpoint {
                host: host.unwrap_or("127.0.0.1").to_owned(),
                port: port.unwrap_or(NATS_DEFAULT_PORT),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if endpoints.is_empty() {
        return Err(EndpointError::Empty);
    }
    Ok(endpoints)
}

/// The server, role and database of a `postgres://user:password@host:port/database?options` URL.
/// A URL without a host means the local server, as for libpq.
pub(crate) fn postgres_target(url: &str) -> Result<PgTarget, EndpointError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(EndpointError::Empty);
    }
    let (host, port) = authority(url)?;
    let rest = after_scheme(url);
    let user = rest
        .split(['/', '?'])
        .next()
        .and_then(|authority| authority.rsplit_once('@'))
        .map(|(credentials, _)| credentials.split(':').next().unwrap_or_default())
        .filter(|user| !user.is_empty())
        .unwrap_or("postgres")
        .to_owned();
    let database = rest
        .split('?')
        .next()
        .and_then(|before_query| before_query.split_once('/'))
        .map(|(_, path)| path.trim_matches('/').to_owned())
        .filter(|db| !db.is_empty());
    Ok(PgTarget {
        endpoint: Endpoint {
            host: host.unwrap_or("127.0.0.1").to_owned(),
            port: port.unwrap_or(POSTGRES_DEFAULT_PORT),
        },
        user,
        database,
    })
}

/// `"name"` with embedded quotes doubled: an identifier that can be spliced into DDL that takes
/// no bind parameters (`create database`).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn after_scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

/// Host and port of the URL's authority, each `None` when left out.
fn authority(url: &str) -> Result<(Option<&str>, Option<u16>), EndpointError> {
    let rest = after_scheme(url);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host_port)| host_port);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        // IPv6 literal: [::1]:4222
        let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ => return Err(EndpointError::BadPort(url.to_owned())),
        },
    };
    let host = Some(host).filter(|host| !host.is_empty());
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn nats_urls_give_host_and_port_with_the_default_port() {
        assert_eq!(
            nats_endpoints("nats://127.0.0.1:4222").unwrap(),
            vec![endpoint("127.0.0.1", 4222)]
        );
        assert_eq!(
            nats_endpoints("nats://localhost").unwrap(),
            vec![endpoint("localhost", 4222)]
        );
        assert_eq!(
            nats_endpoints("localhost:5000").unwrap(),
            vec![endpoint("localhost", 5000)]
        );
        assert_eq!(
            nats_endpoints("nats://user:pw@[::1]:4333").unwrap(),
            vec![endpoint("::1", 4333)]
        );
        assert_eq!(
            nats_endpoints("nats://nats-1:4222, tls://nats-2").unwrap(),
            vec![endpoint("nats-1", 4222), endpoint("nats-2", 4222)]
        );
    }

    #[test]
    fn nats_urls_without_a_server_or_with_a_bad_port_are_refused() {
        assert!(matches!(nats_endpoints(" , "), Err(EndpointError::Empty)));
        assert!(matches!(
            nats_endpoints("nats://h:99999"),
            Err(EndpointError::BadPort(_))
        ));
        assert!(matches!(
            nats_endpoints("nats://h:0"),
            Err(EndpointError::BadPort(_))
        ));
    }

    #[test]
    fn only_loopback_and_wildcard_hosts_are_local() {
        for local in [
            "127.0.0.1",
            "127.0.1.1",
            "localhost",
            "LOCALHOST",
            "::1",
            "0.0.0.0",
            "::",
        ] {
            assert!(endpoint(local, 1).is_local(), "{local}");
        }
        for remote in ["nats-1", "10.0.0.5", "example.com", "postgres"] {
            assert!(!endpoint(remote, 1).is_local(), "{remote}");
        }
    }

    #[test]
    fn postgres_urls_give_server_user_and_database() {
        let target = postgres_target("postgres://postgres@127.0.0.1:5432/bourse").unwrap();
        assert_eq!(target.endpoint, endpoint("127.0.0.1", 5432));
        assert_eq!(target.user, "postgres");
        assert_eq!(target.database.as_deref(), Some("bourse"));

        let target =
            postgres_target("postgresql://app:s3:cret@db.internal/prod?sslmode=require").unwrap();
        assert_eq!(target.endpoint, endpoint("db.internal", 5432));
        assert_eq!(target.user, "app");
        assert_eq!(target.database.as_deref(), Some("prod"));

        let target = postgres_target("postgres://localhost:6543").unwrap();
        assert_eq!(target.endpoint, endpoint("localhost", 6543));
        assert_eq!(target.database, None);

        let target = postgres_target("postgres:///bourse").unwrap();
        assert_eq!(target.endpoint, endpoint("127.0.0.1", 5432));
        assert_eq!(target.database.as_deref(), Some("bourse"));
    }

    #[test]
    fn quote_ident_doubles_embedded_quotes() {
        assert_eq!(quote_ident("bourse"), "\"bourse\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }

    #[test]
    fn endpoints_display_ipv6_in_brackets() {
        assert_eq!(endpoint("::1", 4222).to_string(), "[::1]:4222");
        assert_eq!(endpoint("localhost", 4222).to_string(), "localhost:4222");
    }
}
