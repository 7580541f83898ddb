//! Portfolio: portfolios, activities, trades, positions and performance.

mod figures;

pub use figures::{ActivityType, Performance, PerformanceRange, Position, SeriesPoint};
