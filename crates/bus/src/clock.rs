//! [`Clock`]: the time a service reads, given to it by the kit ([`crate::kit::Deps::clock`]).
//!
//! In production it is the system clock. Tests give a manual one and move it with
//! [`Clock::advance`], so that what waits for a moment in time (a token's expiry) is tested
//! without waiting for it — and without pausing tokio's clock, which would also fast-forward
//! every timeout of the real NATS and Postgres round trips under test.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// A source of the current time that can also wait until a time. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<watch::Sender<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands at `now` until [`Clock::advance`] moves it.
    pub fn manual(now: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(watch::Sender::new(now))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(manual) => *manual.borrow(),
            None => Utc::now(),
        }
    }

    /// Moves a manual clock forward by `by`, waking what waits for a time now passed. The
    /// system clock cannot be moved: nothing happens.
    pub fn advance(&self, by: Duration) {
        if let Some(manual) = &self.manual {
            let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
            manual.send_modify(|now| *now = now.checked_add_signed(by).unwrap_or(*now));
        }
    }

    /// Resolves once the clock reads `at` or later.
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        match &self.manual {
            Some(manual) => {
                let mut now = manual.subscribe();
                // The sender lives as long as this clock, so the wait ends only at `at`.
                let _ = now.wait_for(|now| *now >= at).await;
            }
            None => {
                let left = (at - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(left).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_it_passes_their_time() {
        let start = DateTime::UNIX_EPOCH;
        let clock = Clock::manual(start);
        let at = start + chrono::Duration::seconds(2);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(at).await }
        });
        clock.advance(Duration::from_secs(1));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "one second is not enough");
        clock.advance(Duration::from_secs(1));
        sleeper.await.unwrap();
        assert_eq!(clock.now(), at);
    }

    #[tokio::test]
    async fn the_system_clock_sleeps_until_a_time_already_past_at_once() {
        let clock = Clock::system();
        clock
            .sleep_until(Utc::now() - chrono::Duration::seconds(1))
            .await;
        clock.advance(Duration::from_secs(60));
        assert!((Utc::now() - clock.now()).num_seconds().abs() < 5);
    }
}
