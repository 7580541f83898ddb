//! What every portfolio holds, by portfolio and by symbol: the symbol side says which
//! portfolios a tick touches, the portfolio side what to value them with.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use contracts::{Currency, market::Ticker, portfolio::PortfolioHoldings};
use ledger::Held;
use uuid::Uuid;

/// One portfolio's holdings.
#[derive(Debug, Clone)]
pub struct Entry {
    pub owner_id: Uuid,
    pub currency: Currency,
    pub holdings: Vec<(Ticker, Held)>,
    /// When the holdings were last read.
    pub read_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct Index {
    portfolios: HashMap<Uuid, Entry>,
    by_symbol: HashMap<Ticker, HashSet<Uuid>>,
}

impl Index {
    /// Replaces what `holdings.portfolio_id` holds.
    pub fn put(&mut self, holdings: PortfolioHoldings, read_at: DateTime<Utc>) {
        let id = holdings.portfolio_id;
        self.remove(id);
        let held: Vec<(Ticker, Held)> = holdings
            .holdings
            .into_iter()
            .map(|h| {
                (
                    h.symbol,
                    Held {
                        quantity: h.quantity,
                        investment: h.investment,
                        last_trade_price: h.last_trade_price,
                    },
                )
            })
            .collect();
        for (symbol, _) in &held {
            self.by_symbol.entry(symbol.clone()).or_default().insert(id);
        }
        self.portfolios.insert(
            id,
            Entry {
                owner_id: holdings.owner_id,
                currency: holdings.base_currency,
                holdings: held,
                read_at,
            },
        );
    }

    /// Forgets `id` (deleted).
    pub fn remove(&mut self, id: Uuid) {
        let Some(old) = self.portfolios.remove(&id) else {
            return;
        };
        for (symbol, _) in old.holdings {
            if let Some(holders) = self.by_symbol.get_mut(&symbol) {
                holders.remove(&id);
                if holders.is_empty() {
                    self.by_symbol.remove(&symbol);
                }
            }
        }
    }

    pub fn get(&self, id: Uuid) -> Option<&Entry> {
        self.portfolios.get(&id)
    }

    pub fn contains(&self, id: Uuid) -> bool {
        self.portfolios.contains_key(&id)
    }

    /// The portfolios holding `symbol`.
    pub fn holders(&self, symbol: &Ticker) -> impl Iterator<Item = Uuid> + '_ {
        self.by_symbol.get(symbol).into_iter().flatten().copied()
    }

    /// Every portfolio id.
    pub fn ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.portfolios.keys().copied()
    }

    pub fn len(&self) -> usize {
        self.portfolios.len()
    }

    pub fn is_empty(&self) -> bool {
        self.portfolios.is_empty()
    }

    /// Distinct symbols held.
    pub fn symbols(&self) -> usize {
        self.by_symbol.len()
    }
}

#[cfg(test)]
mod tests {
    use contracts::portfolio::Holding;
    use rust_decimal::Decimal;

    use super::*;

    fn holdings(id: Uuid, symbols: &[&str]) -> PortfolioHoldings {
        PortfolioHoldings {
            portfolio_id: id,
            owner_id: Uuid::nil(),
            base_currency: Currency::parse("USD").unwrap(),
            holdings: symbols
                .iter()
                .map(|s| Holding {
                    symbol: Ticker::parse(s).unwrap(),
                    quantity: Decimal::ONE,
                    investment: Decimal::TEN,
                    last_trade_price: Decimal::TEN,
                })
                .collect(),
        }
    }

    #[test]
    fn replacing_and_removing_keep_the_symbol_side_in_step() {
        let (a, b) = (contracts::new_id(), contracts::new_id());
        let aapl = Ticker::parse("AAPL").unwrap();
        let msft = Ticker::parse("MSFT").unwrap();
        let mut index = Index::default();
        index.put(holdings(a, &["AAPL", "MSFT"]), Utc::now());
        index.put(holdings(b, &["AAPL"]), Utc::now());
        let mut holders: Vec<Uuid> = index.holders(&aapl).collect();
        holders.sort();
        let mut both = vec![a, b];
        both.sort();
        assert_eq!(holders, both);
        assert_eq!(index.symbols(), 2);

        // a sold its MSFT
        index.put(holdings(a, &["AAPL"]), Utc::now());
        assert_eq!(index.holders(&msft).count(), 0);
        assert_eq!(index.symbols(), 1);

        index.remove(a);
        assert_eq!(index.holders(&aapl).collect::<Vec<_>>(), vec![b]);
        assert_eq!(index.len(), 1);
        index.remove(b);
        assert!(index.is_empty());
        assert_eq!(index.symbols(), 0);
    }
}
