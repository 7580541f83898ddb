-- Daily price history: one close per symbol and trading day. The primary key (symbol, date)
-- also serves the only query there is, a date range of one symbol, oldest first.

create table market.daily_close (
    symbol     text          not null,
    date       date          not null,
    -- 16 integer digits and 8 places: room for any price, and for crypto's small ones.
    close      numeric(24,8) not null,
    created_at timestamptz   not null default now(),
    updated_at timestamptz   not null default now(),
    constraint daily_close_pkey primary key (symbol, date),
    constraint daily_close_symbol_fkey foreign key (symbol)
        references market.symbol (symbol) on delete cascade,
    constraint daily_close_close_check check (close > 0)
);

create trigger daily_close_set_updated_at
    before update on market.daily_close
    for each row execute function market.set_updated_at();
