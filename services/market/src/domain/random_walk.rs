//! The simulated price feed's model: a geometric Brownian motion, one step per tick.
//!
//! Each step multiplies the price by `exp(-σ²dt/2 + σ√dt·Z)` with `Z ~ N(0, 1)`, `σ` the annual
//! volatility and `dt` the tick as a fraction of a trading year. The `-σ²dt/2` term (Itô's
//! correction) makes the expected price stay where it is, so a long-running simulation neither
//! drifts up nor down on average. Prices stay `Decimal` all the way; only the normal draw is `f64`.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

/// Seconds in a trading year, 252 sessions of 6.5 hours: the convention behind the annual
/// volatility figures quoted for equities, so `σ = 0.3` means what a trader expects it to mean.
const TRADING_YEAR_SECS: u64 = 252 * 23_400; // 6.5 h = 23 400 s

/// The smallest price step (6 decimal places, used below 1) and the floor of every price: a
/// price of zero or less would break every percentage computed downstream.
pub const MIN_PRICE: Decimal = Decimal::from_parts(1, 0, 0, false, 6);

/// Volatility above 1000 % a year is clamped: nothing real moves faster, and the bound keeps
/// `σ²dt` far from `Decimal`'s range.
const MAX_VOLATILITY: Decimal = Decimal::TEN;

/// The exponent of one step is clamped to ±20 (a factor between 2e-9 and 5e8), so the far tails
/// of the normal draw can never overflow `exp`. With sane inputs it is of the order of 0.001.
const MAX_STEP_EXPONENT: Decimal = Decimal::from_parts(20, 0, 0, false, 0);

/// A seeded random walk of one price series. Keep one per symbol so that a seeded run replays
/// exactly, whatever order the symbols tick in.
#[derive(Debug, Clone)]
pub struct RandomWalk {
    rng: StdRng,
    /// `-σ²dt/2`, the deterministic part of each step's exponent.
    drift: Decimal,
    /// `σ√dt`, the scale of the random part of each step's exponent.
    diffusion: Decimal,
}

impl RandomWalk {
    /// A walk that moves once per `tick` with the given annual volatility (`0.3` = 30 %).
    ///
    /// `seed` makes the sequence reproducible (tests, demos); `None` seeds from the OS. A
    /// negative volatility is taken as its absolute value; volatility is capped at 10 (1000 %)
    /// and the tick at one trading year, which the model is not meant to exceed.
    pub fn new(seed: Option<u64>, tick: Duration, annual_volatility: Decimal) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let sigma = annual_volatility.abs().min(MAX_VOLATILITY);
        let tick_micros = tick.min(Duration::from_secs(TRADING_YEAR_SECS)).as_micros();
        // After the cap the tick is below 6e12 µs, so the conversion cannot fail.
        let tick_micros = Decimal::from(u64::try_from(tick_micros).unwrap_or(u64::MAX));
        let dt = tick_micros / Decimal::from(TRADING_YEAR_SECS * 1_000_000);
        let sqrt_dt = dt.sqrt().unwrap_or(Decimal::ZERO);
        Self {
            rng,
            drift: -(sigma * sigma * dt) / Decimal::TWO,
            diffusion: sigma * sqrt_dt,
        }
    }

    /// The price one tick after `current`: 2 decimal places at or above 1, 6 below, and never
    /// less than [`MIN_PRICE`] (a non-positive `current` is treated as [`MIN_PRICE`]).
    pub fn next_price(&mut self, current: Decimal) -> Decimal {
        let current = current.max(MIN_PRICE);
        let z: f64 = self.rng.sample(StandardNormal);
        // The draw is the one f64 in the feed: rand_distr samples floats, and Decimal has no
        // normal distribution. Converting it at once keeps all price arithmetic in Decimal.
        // `from_f64_retain` only fails on NaN or infinity, which StandardNormal never yields.
        let z = Decimal::from_f64_retain(z).unwrap_or(Decimal::ZERO);
        let exponent =
            (self.drift + self.diffusion * z).clamp(-MAX_STEP_EXPONENT, MAX_STEP_EXPONENT);
        let next = exponent
            .checked_exp()
            .and_then(|factor| current.checked_mul(factor))
            // Only a price near Decimal::MAX can overflow; it then stays where it is.
            .unwrap_or(current);
        round_price(next)
    }
}

/// Rounds to the price grid: cents at or above 1, millionths below, floored at [`MIN_PRICE`].
fn round_price(price: Decimal) -> Decimal {
    let dp = if price >= Decimal::ONE { 2 } else { 6 };
    price
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        .max(MIN_PRICE)
}

#[cfg(test)]
mod tests {
    use rust_decimal::prelude::ToPrimitive;
    use rust_decimal_macros::dec;

    use super::*;

    const ONE_MINUTE: Duration = Duration::from_secs(60);

    fn walk(walk: &mut RandomWalk, start: Decimal, steps: usize) -> Vec<Decimal> {
        let mut prices = Vec::with_capacity(steps);
        let mut price = start;
        for _ in 0..steps {
            price = walk.next_price(price);
            prices.push(price);
        }
        prices
    }

    fn log_returns(start: Decimal, prices: &[Decimal]) -> Vec<f64> {
        let mut previous = start;
        prices
            .iter()
            .map(|&price| {
                let ratio = (price / previous).to_f64().unwrap();
                previous = price;
                ratio.ln()
            })
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let mut a = RandomWalk::new(Some(7), ONE_MINUTE, dec!(0.3));
        let mut b = RandomWalk::new(Some(7), ONE_MINUTE, dec!(0.3));
        assert_eq!(walk(&mut a, dec!(100), 500), walk(&mut b, dec!(100), 500));
    }

    #[test]
    fn different_seeds_give_different_sequences() {
        let mut a = RandomWalk::new(Some(7), ONE_MINUTE, dec!(0.3));
        let mut b = RandomWalk::new(Some(8), ONE_MINUTE, dec!(0.3));
        assert_ne!(walk(&mut a, dec!(100), 50), walk(&mut b, dec!(100), 50));
    }

    #[test]
    fn ten_thousand_steps_stay_positive_with_a_mean_log_return_near_zero() {
        let mut rw = RandomWalk::new(Some(42), ONE_MINUTE, dec!(0.3));
        let prices = walk(&mut rw, dec!(100), 10_000);
        assert!(prices.iter().all(|p| *p > Decimal::ZERO));

        let returns = log_returns(dec!(100), &prices);
        assert!(returns.iter().all(|r| r.is_finite()));
        let mean = returns.iter().sum::<f64>() / returns.len() as f64;
        // One step's standard deviation is σ√dt ≈ 9.6e-4, so the mean of 10 000 has one of
        // about 1e-5; 1e-4 is ten of those and still far below one step's typical move.
        assert!(mean.abs() < 1e-4, "mean log-return {mean}");
    }

    #[test]
    fn the_spread_of_log_returns_matches_the_annual_volatility() {
        let mut rw = RandomWalk::new(Some(3), ONE_MINUTE, dec!(0.3));
        let returns = log_returns(dec!(100), &walk(&mut rw, dec!(100), 10_000));
        let mean = returns.iter().sum::<f64>() / returns.len() as f64;
        let variance =
            returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (returns.len() - 1) as f64;
        let expected = 0.3 * (60.0_f64 / TRADING_YEAR_SECS as f64).sqrt();
        let ratio = variance.sqrt() / expected;
        assert!((0.9..1.1).contains(&ratio), "σ√dt off by a factor {ratio}");
    }

    #[test]
    fn prices_have_two_decimals_from_one_up_and_six_below() {
        let mut rw = RandomWalk::new(Some(1), ONE_MINUTE, dec!(0.3));
        for price in walk(&mut rw, dec!(250), 200) {
            assert!(price.scale() <= 2, "{price}");
        }
        for price in walk(&mut rw, dec!(0.05), 200) {
            assert!(price < Decimal::ONE && price.scale() <= 6, "{price}");
        }
    }

    #[test]
    fn a_crashing_price_floors_at_the_smallest_step() {
        // 1000 % volatility over whole trading days drives a penny stock to the floor fast.
        let mut rw = RandomWalk::new(Some(9), Duration::from_secs(23_400), dec!(50));
        let prices = walk(&mut rw, dec!(0.000002), 2_000);
        assert!(prices.iter().all(|p| *p >= MIN_PRICE));
        assert!(prices.contains(&MIN_PRICE));
    }

    #[test]
    fn a_non_positive_price_restarts_from_the_floor() {
        let mut rw = RandomWalk::new(Some(5), ONE_MINUTE, dec!(0.3));
        assert!(rw.next_price(dec!(-3)) >= MIN_PRICE);
        assert!(rw.next_price(Decimal::ZERO) >= MIN_PRICE);
    }

    #[test]
    fn zero_volatility_only_rounds_the_price() {
        let mut rw = RandomWalk::new(Some(5), ONE_MINUTE, Decimal::ZERO);
        assert_eq!(rw.next_price(dec!(187.125)), dec!(187.13));
        assert_eq!(rw.next_price(dec!(0.1234567)), dec!(0.123457));
    }

    #[test]
    fn absurd_inputs_do_not_overflow() {
        let mut rw = RandomWalk::new(Some(5), Duration::MAX, Decimal::MAX);
        let mut price = Decimal::MAX;
        for _ in 0..100 {
            price = rw.next_price(price);
            assert!(price >= MIN_PRICE);
        }
    }
}
