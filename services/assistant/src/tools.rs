//! The tools the assistant may call, run over NATS as the asking user: the request carries
//! that user's identity, so portfolio's and market's own checks apply (another user's
//! portfolio is `not_found`). No tool takes a user id.

use bus::{Bus, RequestContext};
use contracts::{
    DateRange, Limit, Request,
    market::{GetPriceHistory, GetQuote, SearchQuery, SearchSymbols, Ticker},
    portfolio::{GetPerformance, ListPortfolios, ListPositions, PerformanceRange},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::provider::ToolSpec;

/// Every tool, as providers are told of it.
pub fn specs() -> Vec<ToolSpec> {
    let portfolio = json!({"type": "object", "properties": {
        "portfolio_id": {"type": "string", "description": "A portfolio id from list_portfolios"}},
        "required": ["portfolio_id"]});
    vec![
        ToolSpec {
            name: "list_portfolios".into(),
            description: "The user's portfolios: id, name, base currency.".into(),
            input_schema: json!({"type": "object", "properties": {}}),
        },
        ToolSpec {
            name: "get_positions".into(),
            description:
                "A portfolio's holdings now: quantity, price, value and gain of each symbol.".into(),
            input_schema: portfolio,
        },
        ToolSpec {
            name: "get_performance".into(),
            description: "A portfolio's value, investment, gains, TWR and IRR over a range.".into(),
            input_schema: json!({"type": "object", "properties": {
                "portfolio_id": {"type": "string"},
                "range": {"type": "string", "enum": ["1d", "wtd", "mtd", "ytd", "1y", "5y", "max"]}},
                "required": ["portfolio_id"]}),
        },
        ToolSpec {
            name: "get_quote".into(),
            description: "The latest quote of a symbol (e.g. AAPL).".into(),
            input_schema: json!({"type": "object", "properties": {"symbol": {"type": "string"}},
                "required": ["symbol"]}),
        },
        ToolSpec {
            name: "search_symbols".into(),
            description: "Symbols whose ticker or name matches a query.".into(),
            input_schema: json!({"type": "object", "properties": {"query": {"type": "string"}},
                "required": ["query"]}),
        },
        ToolSpec {
            name: "get_price_history".into(),
            description: "Daily closes of a symbol between two dates (YYYY-MM-DD).".into(),
            input_schema: json!({"type": "object", "properties": {
                "symbol": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"}},
                "required": ["symbol"]}),
        },
    ]
}

/// Runs tool `name` with `input` for the user of `ctx`: its answer as JSON, or why it failed
/// (which the model is shown, as a tool error).
pub async fn run(
    bus: &Bus,
    ctx: &RequestContext,
    name: &str,
    input: &Value,
) -> Result<Value, String> {
    match name {
        "list_portfolios" => {
            let limit = Limit::new(100).ok();
            call(bus, ctx, &ListPortfolios { page: None, limit }).await
        }
        "get_positions" => {
            let portfolio_id = uuid_field(input, "portfolio_id")?;
            call(bus, ctx, &ListPositions { portfolio_id }).await
        }
        "get_performance" => {
            let portfolio_id = uuid_field(input, "portfolio_id")?;
            let range = match input.get("range") {
                Some(range) => Some(field::<PerformanceRange>(range, "range")?),
                None => None,
            };
            call(
                bus,
                ctx,
                &GetPerformance {
                    portfolio_id,
                    as_of: None,
                    range,
                },
            )
            .await
        }
        "get_quote" => {
            let symbol = ticker(input)?;
            call(bus, ctx, &GetQuote { symbol }).await
        }
        "search_symbols" => {
            let raw = input["query"].as_str().ok_or("query is required")?;
            let q = SearchQuery::parse(raw).map_err(|err| err.message)?;
            call(
                bus,
                ctx,
                &SearchSymbols {
                    q: Some(q),
                    limit: Limit::new(10).ok(),
                },
            )
            .await
        }
        "get_price_history" => {
            let symbol = ticker(input)?;
            let mut range = serde_json::Map::new();
            for key in ["from", "to"] {
                if let Some(value) = input.get(key) {
                    range.insert(key.into(), value.clone());
                }
            }
            let range: DateRange = field(&Value::Object(range), "from/to")?;
            call(bus, ctx, &GetPriceHistory { symbol, range }).await
        }
        other => Err(format!("there is no tool {other:?}")),
    }
}

async fn call<R: Request>(bus: &Bus, ctx: &RequestContext, request: &R) -> Result<Value, String> {
    let reply = bus
        .request(ctx, request)
        .await
        .map_err(|err| err.to_string())?;
    serde_json::to_value(reply).map_err(|err| err.to_string())
}

fn field<T: DeserializeOwned>(value: &Value, name: &str) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|err| format!("{name}: {err}"))
}

fn uuid_field(input: &Value, name: &str) -> Result<Uuid, String> {
    let raw = input[name].as_str().ok_or(format!("{name} is required"))?;
    Uuid::parse_str(raw).map_err(|_| format!("{name} {raw:?} is not a portfolio id"))
}

fn ticker(input: &Value) -> Result<Ticker, String> {
    let raw = input["symbol"].as_str().ok_or("symbol is required")?;
    Ticker::parse(raw).map_err(|err| err.message)
}
