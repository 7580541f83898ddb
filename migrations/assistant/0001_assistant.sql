-- Conversations with the assistant: folders, conversations, and their messages as a tree.
-- The service creates schema `assistant` before it migrates, so this file does not.

create function assistant.set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create table assistant.folder (
    folder_id  uuid        not null,
    owner_id   uuid        not null,
    parent_id  uuid,
    name       text        not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint folder_pkey primary key (folder_id),
    -- Deleting a folder deletes the folders inside it.
    constraint folder_parent_fkey foreign key (parent_id)
        references assistant.folder (folder_id) on delete cascade,
    constraint folder_name_check check (char_length(btrim(name)) between 1 and 200)
);

create index folder_owner_idx on assistant.folder (owner_id, name);

create trigger folder_updated_at before update on assistant.folder
    for each row execute function assistant.set_updated_at();

create table assistant.conversation (
    conversation_id uuid        not null,
    owner_id        uuid        not null,
    folder_id       uuid,
    -- Empty until the owner gives one or the first exchange sets it.
    title           text        not null default '',
    model           text        not null,
    system_prompt   text,
    pinned          boolean     not null default false,
    archived        boolean     not null default false,
    current_leaf_id uuid,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint conversation_pkey primary key (conversation_id),
    -- A deleted folder's conversations move out of it, unless the service deleted them first.
    constraint conversation_folder_fkey foreign key (folder_id)
        references assistant.folder (folder_id) on delete set null,
    constraint conversation_title_check check (char_length(title) <= 200)
);

create index conversation_owner_idx on assistant.conversation (owner_id, updated_at desc, conversation_id);
create index conversation_title_search_idx on assistant.conversation
    using gin (to_tsvector('simple', title));

create trigger conversation_updated_at before update on assistant.conversation
    for each row execute function assistant.set_updated_at();

create table assistant.message (
    message_id      uuid        not null,
    conversation_id uuid        not null,
    parent_id       uuid,
    role            text        not null,
    content         text        not null,
    status          text        not null,
    failure         text,
    model           text,
    -- The tools called while writing a reply, with their answers (`contracts::assistant::ToolUse`).
    tool_uses       jsonb       not null default '[]',
    input_tokens    bigint,
    output_tokens   bigint,
    created_at      timestamptz not null default now(),
    constraint message_pkey primary key (message_id),
    constraint message_conversation_fkey foreign key (conversation_id)
        references assistant.conversation (conversation_id) on delete cascade,
    constraint message_parent_fkey foreign key (parent_id)
        references assistant.message (message_id) on delete cascade,
    constraint message_role_check check (role in ('user', 'assistant')),
    constraint message_status_check check (status in ('complete', 'streaming', 'stopped', 'failed'))
);

create index message_conversation_idx on assistant.message (conversation_id, created_at);
create index message_search_idx on assistant.message using gin (to_tsvector('simple', content));

-- Tokens a user's generations used, by day (UTC), for the daily budget.
create table assistant.token_usage (
    owner_id uuid   not null,
    day      date   not null,
    tokens   bigint not null default 0,
    constraint token_usage_pkey primary key (owner_id, day)
);
