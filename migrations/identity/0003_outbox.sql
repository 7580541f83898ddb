-- The transactional outbox of `bus::outbox`, exactly as documented there: the user events and
-- the login audit are written here in the transaction that changes the state, and the relay
-- publishes them to the IDENTITY stream.

create table identity.outbox (
    outbox_id  bigint generated always as identity constraint outbox_pkey primary key,
    event_id   uuid not null constraint outbox_event_id_key unique,
    subject    text not null,          -- without the deployment prefix
    payload    jsonb not null,
    headers    jsonb not null default '{}',
    created_at timestamptz not null default now(),
    sent_at    timestamptz
);

create index outbox_unsent_idx on identity.outbox (outbox_id) where sent_at is null;
