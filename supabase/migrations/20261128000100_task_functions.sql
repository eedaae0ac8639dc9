-- Writes go through these functions so the same rules hold whether the gateway reaches the
-- database directly (Postgres adapter) or through PostgREST (`/rest/v1/rpc/...`).

-- Reserve the user's ticks for today and insert the task, atomically.
--
-- One UPDATE takes the profile row lock and re-checks the limit against the latest row
-- version, so concurrent submissions cannot jointly exceed the quota. Returns the new row,
-- the existing row for a repeated correlation_id, or raises 'quota_exceeded' / 'unknown_user'.
create function public.submit_task(
  p_correlation_id uuid,
  p_user_id uuid,
  p_mandate text,
  p_max_ticks integer,
  p_source text,
  p_created_at timestamptz
) returns setof public.tasks
language plpgsql security definer set search_path = ''
as $$
declare
  today date := (timezone('utc', now()))::date;
  reserved integer;
  prof public.profiles;
begin
  return query select * from public.tasks t where t.correlation_id = p_correlation_id;
  if found then
    return;
  end if;

  update public.profiles p
     set ticks_used_today = case when p.quota_day = today then p.ticks_used_today else 0 end
                            + p_max_ticks,
         quota_day = today,
         updated_at = now()
   where p.id = p_user_id
     and (case when p.quota_day = today then p.ticks_used_today else 0 end) + p_max_ticks
         <= p.daily_tick_limit
  returning p.ticks_used_today into reserved;

  if not found then
    select * into prof from public.profiles p where p.id = p_user_id;
    if not found then
      if not exists (select 1 from auth.users u where u.id = p_user_id) then
        raise exception 'unknown user %', p_user_id using errcode = 'P0002', hint = 'unknown_user';
      end if;
      insert into public.profiles (id) values (p_user_id) on conflict (id) do nothing;
      return query select * from public.submit_task(
        p_correlation_id, p_user_id, p_mandate, p_max_ticks, p_source, p_created_at);
      return;
    end if;
    raise exception 'daily tick quota exceeded'
      using errcode = 'P0001', hint = 'quota_exceeded',
            detail = json_build_object(
              'used', case when prof.quota_day = today then prof.ticks_used_today else 0 end,
              'limit', prof.daily_tick_limit,
              'requested', p_max_ticks)::text;
  end if;

  return query
    insert into public.tasks as t
      (correlation_id, user_id, mandate, max_ticks, status, source, created_at, updated_at)
    values
      (p_correlation_id, p_user_id, p_mandate, p_max_ticks, 'pending', p_source,
       p_created_at, p_created_at)
    returning t.*;
end
$$;

-- Give back the ticks a task reserved (used when a submission is rolled back).
create function public.release_task(p_correlation_id uuid) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  t public.tasks;
begin
  delete from public.tasks where correlation_id = p_correlation_id returning * into t;
  if found then
    update public.profiles p
       set ticks_used_today = greatest(p.ticks_used_today - t.max_ticks, 0), updated_at = now()
     where p.id = t.user_id and p.quota_day = (timezone('utc', t.created_at))::date;
  end if;
end
$$;

-- Guarded update: apply a newer version of a task over an older, non-terminal row.
-- Returns true when the row changed.
create function public.apply_task_update(p_task jsonb) returns boolean
language plpgsql security definer set search_path = ''
as $$
begin
  update public.tasks t
     set status = p_task ->> 'status',
         ticks = (p_task ->> 'ticks')::integer,
         result = p_task ->> 'result',
         error = p_task ->> 'error',
         worker_id = p_task ->> 'worker_id',
         last_action = p_task ->> 'last_action',
         usage = p_task -> 'usage',
         updated_at = (p_task ->> 'updated_at')::timestamptz,
         started_at = (p_task ->> 'started_at')::timestamptz,
         completed_at = (p_task ->> 'completed_at')::timestamptz
   where t.correlation_id = (p_task ->> 'correlation_id')::uuid
     and t.status not in ('completed', 'failed', 'cancelled')
     and t.updated_at < (p_task ->> 'updated_at')::timestamptz
     and public.task_status_rank(p_task ->> 'status') >= public.task_status_rank(t.status);
  return found;
end
$$;

revoke execute on function public.submit_task(uuid, uuid, text, integer, text, timestamptz),
  public.release_task(uuid), public.apply_task_update(jsonb)
  from public, anon, authenticated;
grant execute on function public.submit_task(uuid, uuid, text, integer, text, timestamptz),
  public.release_task(uuid), public.apply_task_update(jsonb)
  to service_role;
