-- Users: who may sign in, with what password and which roles.
-- The service creates schema `identity` before it migrates, so this file does not.

-- Keeps `updated_at` true whatever statement changed the row.
create function identity.set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create table identity.user (
    user_id       uuid        not null,
    -- Stored trimmed and lower-cased by the service; uniqueness ignores case anyway (below).
    email         text        not null,
    name          text        not null,
    -- A PHC string; only argon2id is ever written.
    password_hash text        not null,
    -- Every account has `user`; `admin` is granted by an admin or `bourse user create --admin`.
    roles         text[]      not null default '{user}',
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint user_pkey primary key (user_id),
    -- The limits of the service's syntax check (RFC 5321: at most 254 characters).
    constraint user_email_check check (char_length(email) between 3 and 254 and email like '_%@_%'),
    constraint user_name_check check (char_length(btrim(name)) between 1 and 100),
    constraint user_password_hash_check check (password_hash like '$argon2id$%'),
    constraint user_roles_check check (
        roles <@ array['user', 'admin']::text[] and 'user' = any (roles)
    )
);

-- One account per address, whatever its case: the service maps a violation of this index
-- to `conflict`.
create unique index user_email_key on identity.user (lower(email));
-- The admin list pages through users in creation order.
create index user_created_at_idx on identity.user (created_at, user_id);

create trigger user_set_updated_at
    before update on identity.user
    for each row execute function identity.set_updated_at();
