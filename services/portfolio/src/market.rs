//! What the portfolio service asks of market: daily closes and latest quotes to value
//! holdings, the quote a trade executes at, and manual symbols for tickers market does not
//! know (an import of 30 holdings must not fail on one exotic ticker).

use bus::{Bus, BusError, ErrorCode, RequestContext, kv::Kv};
use chrono::NaiveDate;
use contracts::{
    DateRange,
    market::{EnsureSymbols, GetPriceHistory, ManualSymbol, Quote, Quotes, Ticker},
};
use futures::{StreamExt, TryStreamExt, stream};
use ledger::PriceBook;
use rust_decimal::Decimal;

use crate::error::PortfolioError;

/// A symbol's daily closes and latest quote.
type SymbolPrices = (Ticker, Vec<(NaiveDate, Decimal)>, Option<Quote>);

/// History requests in flight at once for one valuation.
const CONCURRENT_HISTORIES: usize = 16;

#[derive(Clone)]
pub struct Market {
    bus: Bus,
    quotes: Kv<Quotes>,
}

impl Market {
    pub fn new(bus: Bus, quotes: Kv<Quotes>) -> Self {
        Self { bus, quotes }
    }

    /// The latest quote of `symbol`, if market has one.
    pub async fn quote(&self, symbol: &Ticker) -> Result<Option<Quote>, PortfolioError> {
        Ok(self.quotes.get(symbol).await?)
    }

    /// Daily closes of `symbols` from `from` on, and their latest quotes: what valuing a
    /// history needs. A symbol market has no history for is valued at its trade prices.
    pub async fn prices(
        &self,
        ctx: &RequestContext,
        symbols: &[&Ticker],
        from: Option<NaiveDate>,
    ) -> Result<PriceBook, PortfolioError> {
        let range = DateRange::new(from, None)?;
        let fetches: Vec<_> = symbols
            .iter()
            .map(|symbol| {
                self.clone()
                    .symbol_prices(ctx.clone(), (*symbol).clone(), range)
            })
            .collect();
        let fetched: Vec<SymbolPrices> = stream::iter(fetches)
            .buffer_unordered(CONCURRENT_HISTORIES)
            .try_collect()
            .await?;
        let mut book = PriceBook::new();
        for (symbol, closes, quote) in fetched {
            book.add_closes(&symbol, closes);
            if let Some(quote) = quote {
                book.add_quote(&symbol, quote.as_of.date_naive(), quote.price);
            }
        }
        Ok(book)
    }

    /// One symbol's closes in `range` and its latest quote; it owns what it uses, so many run
    /// at once.
    async fn symbol_prices(
        self,
        ctx: RequestContext,
        symbol: Ticker,
        range: DateRange,
    ) -> Result<SymbolPrices, PortfolioError> {
        let request = GetPriceHistory {
            symbol: symbol.clone(),
            range,
        };
        let closes = match self.bus.request(&ctx, &request).await {
            Ok(history) => history
                .closes
                .into_iter()
                .map(|close| (close.date, close.close))
                .collect(),
            Err(BusError::Service {
                code: ErrorCode::NotFound,
                ..
            }) => Vec::new(),
            Err(err) => return Err(PortfolioError::Market(err)),
        };
        let quote = self.quote(&symbol).await?;
        Ok((symbol, closes, quote))
    }

    /// Adds the symbols market does not know as manual ones, for the user on `ctx`; answers
    /// those it added.
    pub async fn ensure_symbols(
        &self,
        ctx: &RequestContext,
        symbols: Vec<ManualSymbol>,
    ) -> Result<Vec<Ticker>, PortfolioError> {
        let mut created = Vec::new();
        for chunk in symbols.chunks(EnsureSymbols::MAX) {
            let request = EnsureSymbols {
                symbols: chunk.to_vec(),
            };
            created.extend(self.bus.request(ctx, &request).await?.created);
        }
        Ok(created)
    }
}
