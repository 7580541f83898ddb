//! The deployment prefix (`BOURSE_SUBJECT_PREFIX`): put in front of every subject, stream and KV
//! bucket, so several deployments (or every test) share one NATS server without seeing each
//! other. Empty by default, which leaves the names exactly as DESIGN.md spells them.

use std::fmt;

/// A validated prefix: empty, or one subject token of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefix(String);

impl Prefix {
    pub fn new(raw: &str) -> Result<Self, InvalidPrefix> {
        let raw = raw.trim();
        let valid = raw.len() <= 32
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidPrefix(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `evt.price.AAPL` -> `<prefix>.evt.price.AAPL`.
    pub fn subject(&self, subject: &str) -> String {
        if self.0.is_empty() {
            subject.to_owned()
        } else {
            format!("{}.{subject}", self.0)
        }
    }

    /// The inverse of [`Prefix::subject`]; `None` when `subject` is not under this prefix.
    pub fn strip<'a>(&self, subject: &'a str) -> Option<&'a str> {
        if self.0.is_empty() {
            return Some(subject);
        }
        subject.strip_prefix(self.0.as_str())?.strip_prefix('.')
    }

    /// Stream names cannot hold dots: `PRICES` -> `<prefix>_PRICES`.
    pub fn stream(&self, name: &str) -> String {
        self.joined(name)
    }

    /// KV bucket names, like streams: `quotes` -> `<prefix>_quotes`.
    pub fn bucket(&self, name: &str) -> String {
        self.joined(name)
    }

    /// Durable consumer names, like streams.
    pub fn durable(&self, name: &str) -> String {
        self.joined(name)
    }

    /// Whether JetStream stream `name` belongs to this (non-empty) prefix: its streams are
    /// `<prefix>_NAME`, its KV buckets `KV_<prefix>_name`, its object stores `OBJ_<prefix>_name`.
    /// `t1` does not own `t12_PRICES`.
    pub fn owns_stream(&self, name: &str) -> bool {
        let name = name
            .strip_prefix("KV_")
            .or_else(|| name.strip_prefix("OBJ_"))
            .unwrap_or(name);
        !self.0.is_empty()
            && name
                .strip_prefix(self.0.as_str())
                .is_some_and(|rest| rest.starts_with('_'))
    }

    fn joined(&self, name: &str) -> String {
        if self.0.is_empty() {
            name.to_owned()
        } else {
            format!("{}_{name}", self.0)
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid subject prefix {0:?}: use at most 32 characters of A-Z, a-z, 0-9, '_' and '-'")]
pub struct InvalidPrefix(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_prefix_leaves_names_alone() {
        let prefix = Prefix::default();
        assert_eq!(prefix.subject("evt.price.AAPL"), "evt.price.AAPL");
        assert_eq!(prefix.stream("PRICES"), "PRICES");
        assert_eq!(prefix.strip("evt.price.AAPL"), Some("evt.price.AAPL"));
    }

    #[test]
    fn prefix_goes_in_front_of_subjects_streams_and_buckets() {
        let prefix = Prefix::new("t_1").unwrap();
        assert_eq!(
            prefix.subject("market.v1.quote.get"),
            "t_1.market.v1.quote.get"
        );
        assert_eq!(prefix.stream("PRICES"), "t_1_PRICES");
        assert_eq!(prefix.bucket("quotes"), "t_1_quotes");
        assert_eq!(prefix.strip("t_1.evt.price.X"), Some("evt.price.X"));
        assert_eq!(prefix.strip("t_10.evt.price.X"), None);
    }

    #[test]
    fn streams_are_owned_by_their_exact_prefix_only() {
        let main = Prefix::new("bench0123abcd").unwrap();
        let longer = Prefix::new("bench0123abcdr").unwrap();
        assert!(main.owns_stream("bench0123abcd_PRICES"));
        assert!(main.owns_stream("KV_bench0123abcd_quotes"));
        assert!(main.owns_stream("OBJ_bench0123abcd_files"));
        assert!(!main.owns_stream("bench0123abcdr_PRICES"));
        assert!(longer.owns_stream("bench0123abcdr_PRICES"));
        assert!(!main.owns_stream("PRICES"));
        assert!(!main.owns_stream("KV_quotes"));
        assert!(!Prefix::default().owns_stream("PRICES"));
    }

    #[test]
    fn prefix_refuses_dots_and_wildcards() {
        for bad in ["a.b", "a*", ">", "a b"] {
            assert!(Prefix::new(bad).is_err(), "{bad:?}");
        }
    }
}
