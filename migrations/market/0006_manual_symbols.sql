-- Manual symbols: tickers no data source covers, added for a user's activities (Ghostfolio's
-- MANUAL data source). `created_by` is the user who added one, so each user's share is
-- bounded; null for symbols of the seed, the admin API or a data provider.

alter table market.symbol add column created_by uuid;

create index symbol_created_by_idx on market.symbol (created_by) where created_by is not null;
