//! Returns over a range of days.
//!
//! - TWR, as Portfolio Performance's TTWROR for a portfolio without cash accounts: for each day
//!   `t`, `r_t = (V_t + Out_t) / (V_{t−1} + In_t) − 1` (0 when the denominator is 0, and `V`
//!   before the first activity is 0); `twr = Π (1 + r_t) − 1`; annualized
//!   `(1 + twr)^(365 / days) − 1` when the range has at least 365 days.
//! - IRR (money-weighted, annual): `−V` at the close of the day before the range (when it is not
//!   0), `Out_t − In_t` on each day, `+V` at the last; `irr` solves
//!   `Σ c_i (1 + irr)^(−d_i / 365) = 0`, `d_i` the days from the first flow, flows of one day
//!   summed. None when the flows never change sign. The solver works in f64 (a rate found by
//!   iteration); amounts stay decimal until then.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::{
    Decimal, MathematicalOps,
    prelude::{FromPrimitive, ToPrimitive},
};

use crate::{ratio, walk::Day};

/// Days a year has for annualizing.
const YEAR_DAYS: u32 = 365;

/// Decimal places of a solved IRR: the solver's precision is ~1e-12.
const IRR_SCALE: u32 = 8;

/// TWR and the IRR's cash flows, fed one day at a time.
#[derive(Debug, Clone)]
pub struct Returns {
    previous_value: Decimal,
    /// `Π (1 + r_t)` so far.
    growth: Decimal,
    days: u32,
    flows: BTreeMap<NaiveDate, Decimal>,
}

impl Returns {
    /// Returns starting from `opening`, the close of the day before the range: its value is
    /// what was already invested when the range began.
    pub fn new(opening: &Day) -> Self {
        let mut flows = BTreeMap::new();
        if !opening.value.is_zero() {
            flows.insert(opening.date, -opening.value);
        }
        Self {
            previous_value: opening.value,
            growth: Decimal::ONE,
            days: 0,
            flows,
        }
    }

    /// Adds a day of the range; answers its `r_t`.
    pub fn add(&mut self, day: &Day) -> Decimal {
        let base = self.previous_value + day.inflow;
        let rate = if base.is_zero() {
            Decimal::ZERO
        } else {
            ratio(day.value + day.outflow, base) - Decimal::ONE
        };
        self.growth *= Decimal::ONE + rate;
        self.previous_value = day.value;
        self.days += 1;
        let flow = day.outflow - day.inflow;
        if !flow.is_zero() {
            *self.flows.entry(day.date).or_default() += flow;
        }
        rate
    }

    /// `Π (1 + r_t)`: the growth of 1 held through the days added.
    pub fn growth(&self) -> Decimal {
        self.growth
    }

    /// `Π (1 + r_t) − 1`.
    pub fn twr(&self) -> Decimal {
        self.growth - Decimal::ONE
    }

    /// The TWR per year, for a range of at least 365 days.
    pub fn twr_annualized(&self) -> Option<Decimal> {
        if self.days < YEAR_DAYS {
            return None;
        }
        let exponent = Decimal::from(YEAR_DAYS) / Decimal::from(self.days);
        self.growth
            .checked_powd(exponent)
            .map(|annual| annual - Decimal::ONE)
    }

    /// The IRR of the flows so far, closed by `closing` (the value at the range's last day).
    pub fn irr(&self, closing: &Day) -> Option<Decimal> {
        let mut flows = self.flows.clone();
        *flows.entry(closing.date).or_default() += closing.value;
        let first = *flows.keys().next()?;
        let flows: Vec<(f64, f64)> = flows
            .into_iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(date, amount)| {
                let days = (date - first).num_days() as f64;
                (days / f64::from(YEAR_DAYS), amount.to_f64().unwrap_or(0.0))
            })
            .collect();
        let rate = solve_irr(&flows)?;
        Decimal::from_f64(rate).map(|rate| rate.round_dp(IRR_SCALE).normalize())
    }
}

/// The rate `r > −1` with `Σ amount × (1 + r)^(−years) = 0`, by bisection on a bracket where
/// the sum changes sign; None when the amounts never change sign or no bracket is found.
fn solve_irr(flows: &[(f64, f64)]) -> Option<f64> {
    let positive = flows.iter().any(|(_, amount)| *amount > 0.0);
    let negative = flows.iter().any(|(_, amount)| *amount < 0.0);
    if !(positive && negative) {
        return None;
    }
    let npv = |rate: f64| -> f64 {
        flows
            .iter()
            .map(|(years, amount)| amount * (1.0 + rate).powf(-years))
            .sum()
    };
    // The low end as close to −100 % as the sum stays finite.
    let mut low = [-0.999_999, -0.9999, -0.999, -0.99, -0.9]
        .into_iter()
        .find(|rate| npv(*rate).is_finite())?;
    let mut high = 1.0;
    while npv(high).signum() == npv(low).signum() {
        high *= 2.0;
        if high > 1e9 {
            return None;
        }
    }
    let low_sign = npv(low).signum();
    for _ in 0..200 {
        let middle = (low + high) / 2.0;
        let value = npv(middle);
        if value == 0.0 || (high - low) < 1e-13 {
            return Some(middle);
        }
        if value.signum() == low_sign {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some((low + high) / 2.0)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::history::tests::day;

    fn close(date: &str, value: Decimal, inflow: Decimal, outflow: Decimal) -> Day {
        Day {
            date: day(date),
            value,
            investment: Decimal::ZERO,
            realized: Decimal::ZERO,
            fees: Decimal::ZERO,
            dividends: Decimal::ZERO,
            inflow,
            outflow,
        }
    }

    #[test]
    fn twr_chains_daily_returns_and_ignores_the_size_of_deposits() {
        // Day 1: 100 in, closes at 110 (+10 %). Day 2: 1000 more in, closes at 1221
        // (1221 / 1110 − 1 = +10 %). TWR = 1.1 × 1.1 − 1 = 21 %.
        let mut returns = Returns::new(&close("2024-01-01", dec!(0), dec!(0), dec!(0)));
        assert_eq!(
            returns.add(&close("2024-01-02", dec!(110), dec!(100), dec!(0))),
            dec!(0.1)
        );
        assert_eq!(
            returns.add(&close("2024-01-03", dec!(1221), dec!(1000), dec!(0))),
            dec!(0.1)
        );
        assert_eq!(returns.twr(), dec!(0.21));
        assert_eq!(returns.twr_annualized(), None);
    }

    #[test]
    fn a_day_with_nothing_invested_returns_nothing() {
        let mut returns = Returns::new(&close("2024-01-01", dec!(0), dec!(0), dec!(0)));
        assert_eq!(
            returns.add(&close("2024-01-02", dec!(0), dec!(0), dec!(0))),
            dec!(0)
        );
        assert_eq!(returns.twr(), dec!(0));
        assert_eq!(
            returns.irr(&close("2024-01-02", dec!(0), dec!(0), dec!(0))),
            None
        );
    }

    #[test]
    fn irr_of_one_year_doubling_is_one_hundred_percent() {
        let opening = close("2023-01-01", dec!(0), dec!(0), dec!(0));
        let mut returns = Returns::new(&opening);
        returns.add(&close("2023-01-01", dec!(100), dec!(100), dec!(0)));
        // 365 days later the 100 are worth 200.
        let end = close("2024-01-01", dec!(200), dec!(0), dec!(0));
        assert_eq!(returns.irr(&end), Some(dec!(1)));
    }

    #[test]
    fn irr_starts_from_the_value_held_before_the_range() {
        // 1000 held at the close before the range, worth 1100 a year later: 10 %.
        let opening = close("2023-01-01", dec!(1000), dec!(0), dec!(0));
        let returns = Returns::new(&opening);
        let end = close("2024-01-01", dec!(1100), dec!(0), dec!(0));
        assert_eq!(returns.irr(&end), Some(dec!(0.1)));
    }

    #[test]
    fn annualizing_needs_a_year() {
        let mut returns = Returns::new(&close("2022-12-31", dec!(0), dec!(0), dec!(0)));
        let mut date = day("2023-01-01");
        returns.add(&close("2023-01-01", dec!(100), dec!(100), dec!(0)));
        for _ in 1..729 {
            date = date.succ_opt().unwrap();
            returns.add(&close(&date.to_string(), dec!(100), dec!(0), dec!(0)));
        }
        date = date.succ_opt().unwrap();
        // 730 days, doubled: (2)^(365/730) − 1 = √2 − 1.
        returns.add(&close(&date.to_string(), dec!(200), dec!(0), dec!(0)));
        let annual = returns.twr_annualized().unwrap();
        assert!(
            (annual - dec!(0.41421356)).abs() < dec!(0.000001),
            "{annual}"
        );
    }

    #[test]
    fn the_solver_finds_a_rate_only_where_flows_change_sign() {
        assert_eq!(solve_irr(&[(0.0, -100.0), (1.0, -10.0)]), None);
        let rate = solve_irr(&[(0.0, -100.0), (1.0, 50.0), (2.0, 60.0)]).unwrap();
        let npv = -100.0 + 50.0 / (1.0 + rate) + 60.0 / (1.0 + rate).powi(2);
        assert!(npv.abs() < 1e-9, "{rate} {npv}");
        let loss = solve_irr(&[(0.0, -100.0), (1.0, 1.0)]).unwrap();
        assert!((loss + 0.99).abs() < 1e-9, "{loss}");
    }
}
