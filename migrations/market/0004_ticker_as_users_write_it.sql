-- Tickers as users write them (contracts::market::Ticker): exchange suffixes and share classes
-- with a dot (BALN.SW, BRK.B), currency pairs with '=' (EURUSD=X), indices with a leading '^'
-- (^GSPC), up to 20 characters. Subjects and KV keys carry the ticker's token instead (see
-- Ticker::token), so the catalogue keeps the spelling users know.
alter table market.symbol drop constraint symbol_symbol_check;
alter table market.symbol add constraint symbol_symbol_check check (
    char_length(symbol) <= 20
    and symbol ~ '^\^?[A-Z0-9][A-Z0-9.=-]*$'
);
