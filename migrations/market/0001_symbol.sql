-- The symbol catalogue: every instrument the platform quotes, charts and trades.
-- The service creates schema `market` before it migrates, so this file does not.

-- Trigram indexes make `name ilike '%query%'` an index scan. pg_trgm is a trusted extension
-- (no superuser needed since Postgres 13) and ships with every standard Postgres build.
create extension if not exists pg_trgm with schema public;

-- Keeps `updated_at` true whatever statement changed the row.
create function market.set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create table market.symbol (
    symbol     text        not null,
    name       text        not null,
    exchange   text        not null,
    currency   text        not null,
    asset_type text        not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint symbol_pkey primary key (symbol),
    -- The same rule as contracts::market::Ticker: one NATS subject token (`evt.price.<SYMBOL>`).
    constraint symbol_symbol_check check (symbol ~ '^[A-Z0-9][A-Z0-9-]{0,14}$'),
    -- Limits of contracts::market::CreateSymbol.
    constraint symbol_name_check check (char_length(btrim(name)) between 1 and 200),
    constraint symbol_exchange_check check (char_length(btrim(exchange)) between 1 and 32),
    -- ISO 4217 code.
    constraint symbol_currency_check check (currency ~ '^[A-Z]{3}$'),
    constraint symbol_asset_type_check check (asset_type in ('stock', 'etf', 'crypto'))
);

-- Search is "ticker starts with q, or name contains q, ignoring case".
-- Ticker prefix: `symbol like 'AA%'` needs pattern ops, the primary key's collation cannot serve it.
create index symbol_symbol_prefix_idx on market.symbol (symbol text_pattern_ops);
-- Name: a trigram index serves `ilike` with a leading wildcard, which no btree can.
create index symbol_name_trgm_idx on market.symbol using gin (name public.gin_trgm_ops);

create trigger symbol_set_updated_at
    before update on market.symbol
    for each row execute function market.set_updated_at();
