-- Euglena schema: tasks (the source of truth users see) and profiles (per-user daily quota).
-- Row-level security: a user reads only their own rows; only the service role writes.

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  daily_tick_limit integer not null default 1000 check (daily_tick_limit >= 0),
  ticks_used_today integer not null default 0 check (ticks_used_today >= 0),
  quota_day date not null default (timezone('utc', now()))::date,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on column public.profiles.daily_tick_limit is
  'Ticks this user may reserve per UTC day; each submission reserves its max_ticks.';
comment on column public.profiles.ticks_used_today is
  'Ticks reserved on quota_day; reset lazily by the first submission of a new UTC day.';

create table public.tasks (
  correlation_id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  mandate text not null check (char_length(mandate) >= 1),
  max_ticks integer not null check (max_ticks >= 1),
  status text not null default 'pending' check (
    status in ('pending', 'accepted', 'started', 'in_progress', 'completed', 'failed', 'cancelled')
  ),
  ticks integer not null default 0 check (ticks >= 0),
  result text,
  error text,
  worker_id text,
  last_action text,
  usage jsonb,
  source text not null default 'api' check (source in ('api', 'kubernetes')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz
);

-- "My tasks, newest first" with keyset pagination.
create index tasks_user_created_idx on public.tasks (user_id, created_at desc, correlation_id desc);
-- Today's usage and operational queries by status.
create index tasks_status_idx on public.tasks (status) where status not in ('completed', 'failed', 'cancelled');

alter table public.tasks enable row level security;
alter table public.profiles enable row level security;

create policy "tasks are readable by their owner" on public.tasks
  for select to authenticated using ((select auth.uid()) = user_id);

create policy "profiles are readable by their owner" on public.profiles
  for select to authenticated using ((select auth.uid()) = id);

revoke all on public.tasks, public.profiles from anon, authenticated;
grant select on public.tasks, public.profiles to authenticated;
grant all on public.tasks, public.profiles to service_role;

-- Every new user gets a profile with the default limit.
create function public.handle_new_user() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  insert into public.profiles (id) values (new.id) on conflict (id) do nothing;
  return new;
end
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function public.handle_new_user();

-- Status order for guarded writes: statuses never move backwards; terminal is final.
create function public.task_status_rank(status text) returns integer
language sql immutable
as $$
  select case status
    when 'pending' then 0
    when 'accepted' then 1
    when 'started' then 2
    when 'in_progress' then 3
    else 4
  end
$$;
