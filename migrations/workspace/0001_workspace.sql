-- A user's projects: one directory each, `<workspace root>/<owner id>/<name>`. The files and
-- the git repository live on disk; this is who owns which directory.
-- The service creates schema `workspace` before it migrates, so this file does not.

create table workspace.project (
    project_id uuid        not null,
    owner_id   uuid        not null,
    name       text        not null,
    template   text,
    remote_url text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint project_pkey primary key (project_id),
    -- The name is the directory: one per owner.
    constraint project_owner_name_key unique (owner_id, name),
    constraint project_name_check check (name ~ '^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$'),
    constraint project_template_check check (template in ('empty', 'strategy'))
);
