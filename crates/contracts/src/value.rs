//! Request rules that several messages share, each a type whose constructor is the only way in:
//! the gateway builds them from what a client sent and reports their errors; a service
//! deserializes the very same types, so it checks again without a second copy of the rule.
//!
//! - [`InvalidValue`]: why a value was refused, naming the field.
//! - [`Secret`]: a string whose `Debug` never shows it (passwords, tokens, API keys).
//! - [`Currency`]: an ISO 4217 code.
//! - [`Page`], [`Limit`], [`Pagination`]: pages of a list.
//! - [`DateRange`]: an inclusive range of days whose start is not after its end.
//!
//! String newtypes are declared with [`string_value!`](crate::string_value), which gives each
//! the same serde, schema and conversion impls.

use std::fmt;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a value was refused: `field` names it for the caller, `message` says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    pub field: &'static str,
    pub message: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidValue {}

/// How many characters of a refused value an error quotes: enough to recognise it.
pub(crate) const QUOTED_CHARS: usize = 40;

/// `raw` cut to [`QUOTED_CHARS`], for error messages.
pub(crate) fn quoted(raw: &str) -> String {
    raw.chars().take(QUOTED_CHARS).collect()
}

/// `raw` trimmed, when it has `chars` characters and no control characters (NUL and the like:
/// no name needs one, and Postgres `text` cannot hold a NUL). The rule of free-text fields:
/// symbol names, exchanges and search queries here, and identity's display names.
pub fn text(
    field: &'static str,
    raw: &str,
    chars: std::ops::RangeInclusive<usize>,
) -> Result<String, InvalidValue> {
    let text = raw.trim();
    let count = text.chars().count();
    if !chars.contains(&count) {
        let message = match chars.start() {
            0 => format!("{field} is longer than {} characters", chars.end()),
            min => format!("{field} must have {min} to {} characters", chars.end()),
        };
        return Err(InvalidValue::new(field, message));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Declares a validated string newtype: `$parse` (`fn(&str) -> Result<String, InvalidValue>`)
/// is its one rule; serde goes through it (`try_from = "String"`), the JSON Schema is `$schema`.
#[macro_export]
macro_rules! string_value {
    ($(#[$meta:meta])* $name:ident, parse = $parse:expr, schema = $schema:tt) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// Checks and normalises `raw` by the type's rule.
            pub fn parse(raw: &str) -> Result<Self, $crate::value::InvalidValue> {
                let parse: fn(&str) -> Result<String, $crate::value::InvalidValue> = $parse;
                parse(raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::value::InvalidValue;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::value::InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}

/// A password, a token or an API key: a JSON string whose `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Password)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself; call it only where the secret is used (hashed, verified, sent).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(Self(raw.to_owned()))
    }
}

fn parse_currency(raw: &str) -> Result<String, InvalidValue> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(InvalidValue::new(
            "currency",
            format!(
                "invalid currency {:?}: use a 3-letter ISO 4217 code, e.g. USD",
                quoted(raw)
            ),
        ))
    }
}

string_value!(
    /// An ISO 4217 currency code: three letters, upper-cased on input (`usd` reads as `USD`).
    Currency,
    parse = parse_currency,
    schema = {
        "type": "string",
        "pattern": "^[A-Za-z]{3}$",
        "description": "ISO 4217 currency code, e.g. USD; upper-cased on input"
    }
);

/// A 1-based page number of a list: 1 to [`Page::MAX`], default 1. Deeper pages are refused
/// rather than scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Page(u32);

impl Page {
    pub const MAX: u32 = 100_000;

    pub fn new(page: u32) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&page) {
            Ok(Self(page))
        } else {
            Err(InvalidValue::new(
                "page",
                format!("page must be between 1 and {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Rows before this page when pages hold `limit` rows.
    pub fn offset(self, limit: Limit) -> i64 {
        (i64::from(self.0) - 1) * i64::from(limit.get())
    }

    /// Where this page sits in a list of `total` rows.
    pub fn pagination(self, limit: Limit, total: u64) -> Pagination {
        Pagination {
            page: self.0,
            limit: limit.get(),
            total,
            total_pages: total.div_ceil(u64::from(limit.get())),
        }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self(1)
    }
}

impl TryFrom<u32> for Page {
    type Error = InvalidValue;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Page> for u32 {
    fn from(value: Page) -> Self {
        value.0
    }
}

impl JsonSchema for Page {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Page".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": Self::MAX,
            "description": "1-based page number; default 1"
        })
    }
}

impl utoipa::PartialSchema for Page {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        bounded_integer(1, Self::MAX, 1, "1-based page number")
    }
}

impl ToSchema for Page {}

/// The OpenAPI schema of an integer in `min..=max` with a default.
fn bounded_integer(
    min: u32,
    max: u32,
    default: u32,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(min))
        .maximum(Some(max))
        .default(Some(default.into()))
        .description(Some(description))
        .into()
}

/// How many rows a page holds: 1 to [`Limit::MAX`], default [`Limit::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Limit(u32);

impl Limit {
    pub const DEFAULT: u32 = 20;
    pub const MAX: u32 = 100;

    pub fn new(limit: u32) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(InvalidValue::new(
                "limit",
                format!("limit must be between 1 and {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

impl TryFrom<u32> for Limit {
    type Error = InvalidValue;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Limit> for u32 {
    fn from(value: Limit) -> Self {
        value.0
    }
}

impl JsonSchema for Limit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": Self::MAX,
            "description": "rows per page; default 20"
        })
    }
}

impl utoipa::PartialSchema for Limit {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        bounded_integer(1, Self::MAX, Self::DEFAULT, "rows per page")
    }
}

impl ToSchema for Limit {}

/// Where a page sits in a list: the gateway's envelope shows it as `pagination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_pages: u64,
}

/// Days from `from` to `to`, both inclusive, either end open; never `from` after `to`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "DateRangeParts")]
pub struct DateRange {
    /// First day, `YYYY-MM-DD`.
    #[serde(default)]
    from: Option<NaiveDate>,
    /// Last day, `YYYY-MM-DD`.
    #[serde(default)]
    to: Option<NaiveDate>,
}

/// The two ends as they arrive, before [`DateRange::new`] checks them.
#[derive(Deserialize)]
struct DateRangeParts {
    #[serde(default)]
    from: Option<NaiveDate>,
    #[serde(default)]
    to: Option<NaiveDate>,
}

impl DateRange {
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Self, InvalidValue> {
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(InvalidValue::new(
                "from",
                format!("from ({from}) is after to ({to})"),
            ));
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> Option<NaiveDate> {
        self.from
    }

    pub fn to(&self) -> Option<NaiveDate> {
        self.to
    }
}

impl TryFrom<DateRangeParts> for DateRange {
    type Error = InvalidValue;
    fn try_from(parts: DateRangeParts) -> Result<Self, Self::Error> {
        Self::new(parts.from, parts.to)
    }
}

impl JsonSchema for DateRange {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DateRange".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "Days from `from` to `to`, both inclusive and optional; `from` is not after `to`",
            "properties": {
                "from": { "type": ["string", "null"], "format": "date" },
                "to": { "type": ["string", "null"], "format": "date" }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn currencies_are_three_letters_upper_cased() {
        assert_eq!(Currency::parse(" usd ").unwrap(), "USD");
        for bad in ["", "US", "USDX", "U5D", "€", "dollars"] {
            let err = Currency::parse(bad).unwrap_err();
            assert_eq!(err.field, "currency", "{bad:?}");
        }
        let json: Currency = serde_json::from_str("\"chf\"").unwrap();
        assert_eq!(json.as_str(), "CHF");
        assert!(serde_json::from_str::<Currency>("\"CHFF\"").is_err());
    }

    #[test]
    fn pages_and_limits_have_bounds_and_defaults() {
        assert_eq!(Page::default().get(), 1);
        assert_eq!(Limit::default().get(), Limit::DEFAULT);
        assert!(Page::new(0).is_err());
        assert!(Page::new(Page::MAX + 1).is_err());
        assert!(Limit::new(0).is_err());
        let err = Limit::new(Limit::MAX + 1).unwrap_err();
        assert_eq!(err.message, "limit must be between 1 and 100");
        assert!(serde_json::from_str::<Limit>("0").is_err());
        assert_eq!(serde_json::from_str::<Limit>("7").unwrap().get(), 7);
    }

    #[test]
    fn pages_count_up_to_the_last_partial_one() {
        let (page, limit) = (Page::new(3).unwrap(), Limit::new(10).unwrap());
        assert_eq!(page.offset(limit), 20);
        assert_eq!(page.pagination(limit, 21).total_pages, 3);
        assert_eq!(page.pagination(limit, 0).total_pages, 0);
    }

    #[test]
    fn a_range_whose_start_is_after_its_end_is_refused() {
        assert!(DateRange::new(Some(day("2026-11-20")), Some(day("2026-11-01"))).is_err());
        let one_day = DateRange::new(Some(day("2026-11-20")), Some(day("2026-11-20"))).unwrap();
        assert_eq!(one_day.from(), one_day.to());
        assert!(DateRange::new(None, Some(day("2026-11-01"))).is_ok());
        let json = r#"{"from":"2026-11-20","to":"2026-11-01"}"#;
        let err = serde_json::from_str::<DateRange>(json).unwrap_err();
        assert!(err.to_string().contains("is after"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secret = Secret::new("hunter2hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(serde_json::to_value(&secret).unwrap(), "hunter2hunter2");
    }
}
