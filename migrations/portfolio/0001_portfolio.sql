-- Portfolios and their activities: the source of truth of every holding and every figure.
-- The service creates schema `portfolio` before it migrates, so this file does not.

-- Keeps `updated_at` true whatever statement changed the row.
create function portfolio.set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create table portfolio.portfolio (
    portfolio_id  uuid        not null,
    -- The user it belongs to (identity's user id; no foreign key across services).
    owner_id      uuid        not null,
    name          text        not null,
    description   text,
    base_currency text        not null,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint portfolio_pkey primary key (portfolio_id),
    constraint portfolio_name_check check (char_length(btrim(name)) between 1 and 100),
    constraint portfolio_description_check check (char_length(description) <= 1000),
    constraint portfolio_base_currency_check check (base_currency ~ '^[A-Z]{3}$')
);

-- A user's portfolios, oldest first.
create index portfolio_owner_idx on portfolio.portfolio (owner_id, created_at, portfolio_id);

create trigger portfolio_set_updated_at
    before update on portfolio.portfolio
    for each row execute function portfolio.set_updated_at();

create table portfolio.activity (
    activity_id  uuid           not null,
    portfolio_id uuid           not null,
    -- The order activities were recorded in: activities of one day apply in this order.
    seq          bigint         generated always as identity,
    kind         text           not null,
    date         date           not null,
    -- The ticker as users write it (contracts::market::Ticker); none for FEE.
    symbol       text,
    quantity     numeric(28, 10) not null,
    unit_price   numeric(28, 10) not null,
    fee          numeric(28, 10) not null,
    currency     text           not null,
    note         text,
    source       text           not null,
    created_at   timestamptz    not null default now(),
    constraint activity_pkey primary key (activity_id),
    constraint activity_portfolio_fkey foreign key (portfolio_id)
        references portfolio.portfolio (portfolio_id) on delete cascade,
    constraint activity_kind_check check (kind in ('BUY', 'SELL', 'DIVIDEND', 'FEE')),
    constraint activity_symbol_check check ((kind = 'FEE') = (symbol is null)),
    constraint activity_amounts_check check (quantity >= 0 and unit_price >= 0 and fee >= 0),
    constraint activity_currency_check check (currency ~ '^[A-Z]{3}$'),
    constraint activity_note_check check (char_length(note) <= 1000),
    constraint activity_source_check check (source in ('manual', 'trade', 'import'))
);

-- A portfolio's history in the order it applies; also its pages and symbol filters.
create index activity_history_idx on portfolio.activity (portfolio_id, date, seq);
create index activity_symbol_idx on portfolio.activity (portfolio_id, symbol, date);

-- Trades at market, kept as executed (deleting the activity a trade recorded leaves the trade).
create table portfolio.trade (
    trade_id        uuid           not null,
    portfolio_id    uuid           not null,
    client_order_id text           not null,
    side            text           not null,
    symbol          text           not null,
    quantity        numeric(28, 10) not null,
    price           numeric(28, 10) not null,
    limit_price     numeric(28, 10),
    currency        text           not null,
    activity_id     uuid           not null,
    executed_at     timestamptz    not null,
    constraint trade_pkey primary key (trade_id),
    constraint trade_portfolio_fkey foreign key (portfolio_id)
        references portfolio.portfolio (portfolio_id) on delete cascade,
    -- A retried order finds the first one here; the service maps a violation to its answer.
    constraint trade_client_order_id_key unique (portfolio_id, client_order_id),
    constraint trade_side_check check (side in ('BUY', 'SELL')),
    constraint trade_amounts_check check (quantity > 0 and price >= 0)
);

create index trade_history_idx on portfolio.trade (portfolio_id, executed_at desc, trade_id);
