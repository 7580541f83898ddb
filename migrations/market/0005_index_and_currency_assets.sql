-- Indices (^GSPC) and currency pairs (EURUSD=X) are instruments users follow next to stocks,
-- ETFs and crypto (contracts::market::AssetType).
alter table market.symbol drop constraint symbol_asset_type_check;
alter table market.symbol add constraint symbol_asset_type_check check (
    asset_type in ('stock', 'etf', 'index', 'currency', 'crypto')
);
