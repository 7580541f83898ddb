//! From a requested activity to a recorded one, and from recorded ones to the ledger's history.

use chrono::{DateTime, NaiveDate, Utc};
use contracts::{
    InvalidValue,
    portfolio::{Activity, ActivitySource, NewActivity, Portfolio},
};
use ledger::{History, LedgerError};
use rust_decimal::Decimal;
use uuid::Uuid;

/// `new` as an activity of `portfolio`, checked on its own: its own rules, the portfolio's
/// currency, and no date after `today`. A FEE keeps only its fee; the rest is the ledger's.
pub fn recorded(
    portfolio: &Portfolio,
    new: NewActivity,
    source: ActivitySource,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Activity, InvalidValue> {
    new.check()?;
    if new.currency != portfolio.base_currency {
        return Err(InvalidValue::new(
            "currency",
            format!(
                "the activity is in {} but the portfolio is in {}; activities in other currencies are not supported yet",
                new.currency, portfolio.base_currency
            ),
        ));
    }
    if new.date > today {
        return Err(InvalidValue::new(
            "date",
            format!("the date {} is in the future", new.date),
        ));
    }
    let is_fee = new.kind == contracts::portfolio::ActivityType::Fee;
    Ok(Activity {
        id: Uuid::now_v7(),
        portfolio_id: portfolio.id,
        kind: new.kind,
        date: new.date,
        symbol: new.symbol,
        quantity: if is_fee {
            Decimal::ZERO
        } else {
            new.quantity.normalize()
        },
        unit_price: if is_fee {
            Decimal::ZERO
        } else {
            new.unit_price.normalize()
        },
        fee: new.fee.normalize(),
        currency: new.currency,
        note: new.note.filter(|note| !note.as_str().is_empty()),
        source,
        created_at: now,
    })
}

/// The ledger's view of one activity.
pub fn to_ledger(activity: &Activity) -> ledger::Activity {
    ledger::Activity {
        id: activity.id,
        kind: activity.kind,
        date: activity.date,
        symbol: activity.symbol.clone(),
        quantity: activity.quantity,
        unit_price: activity.unit_price,
        fee: activity.fee,
    }
}

/// `activities`, in the order they were recorded, as a checked history.
pub fn history<'a>(
    activities: impl IntoIterator<Item = &'a Activity>,
) -> Result<History, LedgerError> {
    History::new(activities.into_iter().map(to_ledger).collect())
}

#[cfg(test)]
mod tests {
    use contracts::{
        Currency,
        market::Ticker,
        portfolio::{ActivityType, PortfolioName},
    };

    use super::*;

    fn portfolio() -> Portfolio {
        Portfolio {
            id: Uuid::now_v7(),
            owner_id: Uuid::now_v7(),
            name: PortfolioName::parse("Main").unwrap(),
            description: None,
            base_currency: Currency::parse("USD").unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn new(kind: ActivityType, currency: &str, date: &str) -> NewActivity {
        NewActivity {
            kind,
            date: date.parse().unwrap(),
            symbol: (kind != ActivityType::Fee).then(|| Ticker::parse("BALN.SW").unwrap()),
            quantity: Decimal::ONE,
            unit_price: Decimal::TEN,
            fee: Decimal::ONE,
            currency: Currency::parse(currency).unwrap(),
            note: None,
        }
    }

    #[test]
    fn an_activity_in_another_currency_is_refused_clearly() {
        let today = "2024-06-01".parse().unwrap();
        let err = recorded(
            &portfolio(),
            new(ActivityType::Buy, "CHF", "2024-01-02"),
            ActivitySource::Manual,
            today,
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(err.field, "currency");
        assert!(
            err.message.contains("CHF") && err.message.contains("USD"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_future_date_is_refused_and_a_fee_keeps_only_its_fee() {
        let today = "2024-06-01".parse().unwrap();
        let future = recorded(
            &portfolio(),
            new(ActivityType::Buy, "USD", "2024-06-02"),
            ActivitySource::Manual,
            today,
            Utc::now(),
        );
        assert_eq!(future.unwrap_err().field, "date");
        let fee = recorded(
            &portfolio(),
            new(ActivityType::Fee, "USD", "2024-06-01"),
            ActivitySource::Manual,
            today,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            (fee.quantity, fee.unit_price, fee.fee),
            (Decimal::ZERO, Decimal::ZERO, Decimal::ONE)
        );
    }
}
