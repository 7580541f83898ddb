-- The transactional outbox of `bus::outbox`, exactly as documented there: portfolio, activity
-- and trade events are written here in the transaction that changes the state, and the relay
-- publishes them to the PORTFOLIO stream.

create table portfolio.outbox (
    outbox_id  bigint generated always as identity constraint outbox_pkey primary key,
    event_id   uuid not null constraint outbox_event_id_key unique,
    subject    text not null,          -- without the deployment prefix
    payload    jsonb not null,
    headers    jsonb not null default '{}',
    created_at timestamptz not null default now(),
    sent_at    timestamptz
);

create index outbox_unsent_idx on portfolio.outbox (outbox_id) where sent_at is null;
