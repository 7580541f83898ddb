-- Refresh tokens: opaque, stored only as their SHA-256 hash, rotated on every use.
--
-- A login starts a family; every refresh marks the presented token used and adds its successor
-- to the same family. A used (or revoked) token presented again means that someone else holds a
-- copy, so the whole family is revoked (reuse detection). Deleting a user deletes their tokens.

create table identity.refresh_token (
    -- SHA-256 of the token the client holds; a token is 256 random bits, so an unsalted hash
    -- is safe and lets the lookup use this key.
    token_hash  bytea       not null,
    family_id   uuid        not null,
    user_id     uuid        not null,
    issued_at   timestamptz not null default now(),
    expires_at  timestamptz not null,
    -- Set when the token was exchanged for its successor.
    used_at     timestamptz,
    -- Set when its family was revoked (logout, reuse, password change).
    revoked_at  timestamptz,
    -- The hash of the successor, for following a family's chain when investigating.
    replaced_by bytea,
    -- Where the family was started or last refreshed from, as the gateway saw it.
    ip          inet,
    user_agent  text,
    constraint refresh_token_pkey primary key (token_hash),
    constraint refresh_token_user_id_fkey foreign key (user_id)
        references identity.user (user_id) on delete cascade,
    constraint refresh_token_token_hash_check check (octet_length(token_hash) = 32),
    constraint refresh_token_replaced_by_check check (replaced_by is null or octet_length(replaced_by) = 32),
    constraint refresh_token_expires_at_check check (expires_at > issued_at),
    constraint refresh_token_user_agent_check check (char_length(user_agent) <= 512)
);

-- Revoking a family, and revoking every family of a user.
create index refresh_token_family_id_idx on identity.refresh_token (family_id);
create index refresh_token_user_id_idx on identity.refresh_token (user_id);
-- The periodic clean-up of long-expired tokens.
create index refresh_token_expires_at_idx on identity.refresh_token (expires_at);
