//! The requests the portfolio service answers, with their replies and rules.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    Activity, ActivityType, ClientOrderId, Note, Performance, PerformanceRange, Portfolio,
    PortfolioName, Position, SeriesPoint, Trade, TradeSide,
};
use crate::{Currency, DateRange, InvalidValue, Limit, Page, Pagination, Request, market::Ticker};

/// The largest quantity, price or fee accepted.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0); // 1e12
/// Decimal places kept of a quantity, price or fee.
pub const MAX_SCALE: u32 = 10;

/// `portfolio.v1.portfolio.create`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePortfolio {
    pub name: PortfolioName,
    #[serde(default)]
    pub description: Option<Note>,
    /// ISO 4217; every activity of the portfolio is in it.
    pub base_currency: Currency,
}

impl Request for CreatePortfolio {
    const SUBJECT: &'static str = "portfolio.v1.portfolio.create";
    type Reply = Portfolio;
}

/// `portfolio.v1.portfolio.list`: the caller's portfolios, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPortfolios {
    #[serde(default)]
    pub page: Option<Page>,
    #[serde(default)]
    pub limit: Option<Limit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PortfolioPage {
    pub portfolios: Vec<Portfolio>,
    pub pagination: Pagination,
}

impl Request for ListPortfolios {
    const SUBJECT: &'static str = "portfolio.v1.portfolio.list";
    type Reply = PortfolioPage;
}

/// `portfolio.v1.portfolio.get`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPortfolio {
    pub portfolio_id: Uuid,
}

impl Request for GetPortfolio {
    const SUBJECT: &'static str = "portfolio.v1.portfolio.get";
    type Reply = Portfolio;
}

/// `portfolio.v1.portfolio.update`: the fields given change. An empty description clears it;
/// the base currency changes only while no activity is in another currency.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePortfolio {
    pub portfolio_id: Uuid,
    #[serde(default)]
    pub name: Option<PortfolioName>,
    #[serde(default)]
    pub description: Option<Note>,
    #[serde(default)]
    pub base_currency: Option<Currency>,
}

impl Request for UpdatePortfolio {
    const SUBJECT: &'static str = "portfolio.v1.portfolio.update";
    type Reply = Portfolio;
}

/// `portfolio.v1.portfolio.delete`: the portfolio and its activities; its events stay in the
/// stream.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletePortfolio {
    pub portfolio_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DeletedPortfolio {
    pub portfolio_id: Uuid,
}

impl Request for DeletePortfolio {
    const SUBJECT: &'static str = "portfolio.v1.portfolio.delete";
    type Reply = DeletedPortfolio;
}

/// An activity to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    #[serde(rename = "type")]
    pub kind: ActivityType,
    /// `YYYY-MM-DD`, not in the future.
    pub date: NaiveDate,
    /// Required but for FEE, which has none.
    #[serde(default)]
    pub symbol: Option<Ticker>,
    /// Above 0 for BUY, SELL and DIVIDEND; ignored for FEE.
    #[serde(default)]
    #[schema(value_type = String, example = "10")]
    pub quantity: Decimal,
    /// For a DIVIDEND, the dividend per share; ignored for FEE.
    #[serde(default)]
    #[schema(value_type = String, example = "187.12")]
    pub unit_price: Decimal,
    /// For a FEE, its amount (above 0).
    #[serde(default)]
    #[schema(value_type = String, example = "1.5")]
    pub fee: Decimal,
    /// The portfolio's base currency.
    pub currency: Currency,
    #[serde(default)]
    pub note: Option<Note>,
}

impl NewActivity {
    /// The rules of one activity on its own (the history's rules are the ledger's): a symbol
    /// but for FEE, amounts in range, a quantity for what has one, a fee for a FEE.
    pub fn check(&self) -> Result<(), InvalidValue> {
        for (field, value) in [
            ("quantity", self.quantity),
            ("unit_price", self.unit_price),
            ("fee", self.fee),
        ] {
            amount(field, value)?;
        }
        match (self.kind, &self.symbol) {
            (ActivityType::Fee, Some(_)) => {
                return Err(InvalidValue::new("symbol", "a FEE activity has no symbol"));
            }
            (ActivityType::Fee, None) if self.fee.is_zero() => {
                return Err(InvalidValue::new(
                    "fee",
                    "a FEE activity needs a fee above 0",
                ));
            }
            (ActivityType::Fee, None) => {}
            (kind, None) => {
                return Err(InvalidValue::new(
                    "symbol",
                    format!("a {} activity needs a symbol", kind.as_str()),
                ));
            }
            (kind, Some(_)) if self.quantity.is_zero() => {
                return Err(InvalidValue::new(
                    "quantity",
                    format!("a {} activity needs a quantity above 0", kind.as_str()),
                ));
            }
            (_, Some(_)) => {}
        }
        Ok(())
    }
}

/// A quantity, price or fee: 0 to [`MAX_AMOUNT`], at most [`MAX_SCALE`] decimal places.
pub fn amount(field: &'static str, value: Decimal) -> Result<Decimal, InvalidValue> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(InvalidValue::new(
            field,
            format!("{field} must not be negative"),
        ));
    }
    if value > MAX_AMOUNT {
        return Err(InvalidValue::new(
            field,
            format!("{field} must be at most {MAX_AMOUNT}"),
        ));
    }
    if value.normalize().scale() > MAX_SCALE {
        return Err(InvalidValue::new(
            field,
            format!("{field} has more than {MAX_SCALE} decimal places"),
        ));
    }
    Ok(value)
}

/// `portfolio.v1.activity.record`: one or many activities, all or nothing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordActivities {
    pub portfolio_id: Uuid,
    pub activities: Vec<NewActivity>,
}

impl RecordActivities {
    /// Activities per request; an import splits nothing, so this is also its bound.
    pub const MAX: usize = 20_000;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct RecordedActivities {
    pub activities: Vec<Activity>,
}

impl Request for RecordActivities {
    const SUBJECT: &'static str = "portfolio.v1.activity.record";
    type Reply = RecordedActivities;
}

/// `portfolio.v1.activity.list`: newest first, filtered by symbol and days.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListActivities {
    pub portfolio_id: Uuid,
    #[serde(default)]
    pub symbol: Option<Ticker>,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub page: Option<Page>,
    #[serde(default)]
    pub limit: Option<Limit>,
}

impl ListActivities {
    /// `from`..`to`, checked.
    pub fn range(&self) -> Result<DateRange, InvalidValue> {
        DateRange::new(self.from, self.to)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ActivityPage {
    pub activities: Vec<Activity>,
    pub pagination: Pagination,
}

impl Request for ListActivities {
    const SUBJECT: &'static str = "portfolio.v1.activity.list";
    type Reply = ActivityPage;
}

/// `portfolio.v1.activity.delete`: refused when a later SELL would then sell more than held.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteActivity {
    pub portfolio_id: Uuid,
    pub activity_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DeletedActivity {
    pub activity_id: Uuid,
}

impl Request for DeleteActivity {
    const SUBJECT: &'static str = "portfolio.v1.activity.delete";
    type Reply = DeletedActivity;
}

/// `portfolio.v1.trade.execute`: a BUY or SELL at the latest quote, when `limit_price` allows
/// (a BUY's limit at or above the quote, a SELL's at or below it); records the activity dated
/// today. A retry with the same `client_order_id` answers the first trade and executes
/// nothing; the same id with another order is a `conflict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteTrade {
    pub portfolio_id: Uuid,
    pub side: TradeSide,
    pub symbol: Ticker,
    #[schema(value_type = String, example = "10")]
    pub quantity: Decimal,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "190")]
    pub limit_price: Option<Decimal>,
    /// Without one, every request is a new order.
    #[serde(default)]
    pub client_order_id: Option<ClientOrderId>,
}

impl ExecuteTrade {
    pub fn check(&self) -> Result<(), InvalidValue> {
        if amount("quantity", self.quantity)?.is_zero() {
            return Err(InvalidValue::new("quantity", "quantity must be above 0"));
        }
        if let Some(limit) = self.limit_price {
            amount("limit_price", limit)?;
        }
        Ok(())
    }
}

impl Request for ExecuteTrade {
    const SUBJECT: &'static str = "portfolio.v1.trade.execute";
    type Reply = Trade;
}

/// `portfolio.v1.trade.list`: newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTrades {
    pub portfolio_id: Uuid,
    #[serde(default)]
    pub page: Option<Page>,
    #[serde(default)]
    pub limit: Option<Limit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct TradePage {
    pub trades: Vec<Trade>,
    pub pagination: Pagination,
}

impl Request for ListTrades {
    const SUBJECT: &'static str = "portfolio.v1.trade.list";
    type Reply = TradePage;
}

/// `portfolio.v1.position.list`: what is held now, valued at the latest prices.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPositions {
    pub portfolio_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Positions {
    pub portfolio_id: Uuid,
    pub base_currency: Currency,
    pub as_of: NaiveDate,
    pub positions: Vec<Position>,
}

impl Request for ListPositions {
    const SUBJECT: &'static str = "portfolio.v1.position.list";
    type Reply = Positions;
}

/// `portfolio.v1.performance.get`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPerformance {
    pub portfolio_id: Uuid,
    /// Default today.
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    /// Default `max`.
    #[serde(default)]
    pub range: Option<PerformanceRange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PortfolioPerformance {
    pub portfolio_id: Uuid,
    pub base_currency: Currency,
    #[serde(flatten)]
    pub performance: Performance,
}

impl Request for GetPerformance {
    const SUBJECT: &'static str = "portfolio.v1.performance.get";
    type Reply = PortfolioPerformance;
}

/// `portfolio.v1.performance.series`: one point a day, `from` (default: the first activity) to
/// `to` (default today).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPerformanceSeries {
    pub portfolio_id: Uuid,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

impl GetPerformanceSeries {
    /// Days one series may have (about 55 years).
    pub const MAX_DAYS: i64 = 20_000;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PerformanceSeries {
    pub portfolio_id: Uuid,
    pub base_currency: Currency,
    pub points: Vec<SeriesPoint>,
}

impl Request for GetPerformanceSeries {
    const SUBJECT: &'static str = "portfolio.v1.performance.series";
    type Reply = PerformanceSeries;
}

/// The file formats of import and export (Ghostfolio's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// `Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note`.
    Csv,
    /// `{"meta":{...},"activities":[...]}`.
    Json,
}

/// `portfolio.v1.activity.export`: every activity, oldest first, in Ghostfolio's format.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportActivities {
    pub portfolio_id: Uuid,
    pub format: FileFormat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ExportedActivities {
    pub format: FileFormat,
    /// A file name to save it as.
    pub filename: String,
    pub content: String,
}

impl Request for ExportActivities {
    const SUBJECT: &'static str = "portfolio.v1.activity.export";
    type Reply = ExportedActivities;
}

/// `portfolio.v1.activity.import`: a Ghostfolio CSV or JSON export, all or nothing; a bad row
/// is reported with its line (CSV) or index (JSON) and field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportActivities {
    pub portfolio_id: Uuid,
    pub format: FileFormat,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ImportedActivities {
    pub imported: u32,
    /// Symbols market did not know, added as manual ones.
    pub symbols_added: Vec<Ticker>,
}

impl Request for ImportActivities {
    const SUBJECT: &'static str = "portfolio.v1.activity.import";
    type Reply = ImportedActivities;
}

/// One symbol's holding, as other services (valuation) read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Holding {
    pub symbol: Ticker,
    #[schema(value_type = String)]
    pub quantity: Decimal,
    #[schema(value_type = String)]
    pub investment: Decimal,
    /// The unit price of its last BUY or SELL: its value with no quote.
    #[schema(value_type = String)]
    pub last_trade_price: Decimal,
}

/// A portfolio's holdings now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PortfolioHoldings {
    pub portfolio_id: Uuid,
    pub owner_id: Uuid,
    pub base_currency: Currency,
    /// Symbols held (quantity above 0).
    pub holdings: Vec<Holding>,
}

/// `portfolio.v1.holding.list`: for services, not users (the gateway has no route to it, and a
/// request acting for a user is refused): the holdings of the given portfolios, or of every
/// portfolio in id order after `after`. A portfolio that does not exist is left out. A reply
/// carries at most [`ListHoldings::REPLY_BUDGET`] bytes of holdings (NATS messages are bounded):
/// when it is cut short, `next_after` is the last portfolio it holds — also for a list of ids,
/// whose rest is then asked for again.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListHoldings {
    #[serde(default)]
    pub portfolio_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub after: Option<Uuid>,
    #[serde(default)]
    pub limit: Option<u32>,
}

impl ListHoldings {
    pub const MAX: u32 = 1000;
    /// Bytes of holdings one reply carries at most, well below NATS' default 1 MB.
    pub const REPLY_BUDGET: usize = 512 * 1024;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct HoldingsPage {
    /// In id order.
    pub portfolios: Vec<PortfolioHoldings>,
    /// Where the next page starts; None after the last (or when every id asked for is
    /// answered).
    pub next_after: Option<Uuid>,
}

impl Request for ListHoldings {
    const SUBJECT: &'static str = "portfolio.v1.holding.list";
    type Reply = HoldingsPage;
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn activity(kind: ActivityType, symbol: Option<&str>) -> NewActivity {
        NewActivity {
            kind,
            date: "2024-01-02".parse().unwrap(),
            symbol: symbol.map(|s| Ticker::parse(s).unwrap()),
            quantity: dec!(1),
            unit_price: dec!(10),
            fee: dec!(0),
            currency: Currency::parse("USD").unwrap(),
            note: None,
        }
    }

    #[test]
    fn max_amount_is_a_trillion() {
        assert_eq!(MAX_AMOUNT, dec!(1_000_000_000_000));
    }

    #[test]
    fn an_activity_has_a_symbol_but_a_fee_and_amounts_in_range() {
        assert!(activity(ActivityType::Buy, Some("AAPL")).check().is_ok());
        assert_eq!(
            activity(ActivityType::Sell, None)
                .check()
                .unwrap_err()
                .field,
            "symbol"
        );
        assert_eq!(
            activity(ActivityType::Fee, Some("AAPL"))
                .check()
                .unwrap_err()
                .field,
            "symbol"
        );
        let mut fee = activity(ActivityType::Fee, None);
        assert_eq!(fee.check().unwrap_err().field, "fee");
        fee.fee = dec!(2.5);
        assert!(fee.check().is_ok());
        let mut zero = activity(ActivityType::Buy, Some("AAPL"));
        zero.quantity = dec!(0);
        assert_eq!(zero.check().unwrap_err().field, "quantity");
        let mut negative = activity(ActivityType::Buy, Some("AAPL"));
        negative.unit_price = dec!(-1);
        assert_eq!(negative.check().unwrap_err().field, "unit_price");
        let mut fine = activity(ActivityType::Buy, Some("AAPL"));
        fine.quantity = dec!(0.00000000001);
        assert!(fine.check().unwrap_err().message.contains("decimal places"));
        fine.quantity = dec!(1.5000000000000);
        assert!(fine.check().is_ok(), "trailing zeros are not places");
    }

    #[test]
    fn a_trade_needs_a_quantity() {
        let trade: ExecuteTrade = serde_json::from_value(serde_json::json!({
            "portfolio_id": Uuid::nil(), "side": "BUY", "symbol": "brk.b", "quantity": "0",
        }))
        .unwrap();
        assert_eq!(trade.symbol, Ticker::parse("BRK.B").unwrap());
        assert!(trade.check().is_err());
        assert!(
            serde_json::from_value::<ExecuteTrade>(serde_json::json!({
                "portfolio_id": Uuid::nil(), "side": "HOLD", "symbol": "AAPL", "quantity": "1",
            }))
            .is_err()
        );
    }

    #[test]
    fn client_order_ids_are_short_and_plain() {
        assert!(ClientOrderId::parse("order-2024.01:7_a").is_ok());
        assert!(ClientOrderId::parse("").is_err());
        assert!(ClientOrderId::parse("has space").is_err());
        assert!(ClientOrderId::parse(&"x".repeat(65)).is_err());
    }
}
