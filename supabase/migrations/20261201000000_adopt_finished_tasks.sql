-- "Creates if missing": a finished task that exists only in Redis (its row was never written,
-- or was rolled back although the task ran after all) is written to Postgres as it finished,
-- so its owner sees its result. The ticks it spent count against the owner's quota for the
-- day it was submitted, like any task's. Returns true when the row was created; false when a
-- row exists already, the task is not finished, or its owner no longer exists.

create function public.adopt_task(p_task jsonb) returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  created public.tasks;
begin
  if p_task ->> 'status' not in ('completed', 'failed', 'cancelled') then
    return false;
  end if;
  insert into public.tasks as t
    (correlation_id, user_id, mandate, max_ticks, status, ticks, result, error, worker_id,
     last_action, usage, source, created_at, updated_at, started_at, completed_at)
  values (
    (p_task ->> 'correlation_id')::uuid,
    (p_task ->> 'user_id')::uuid,
    p_task ->> 'mandate',
    (p_task ->> 'max_ticks')::integer,
    p_task ->> 'status',
    (p_task ->> 'ticks')::integer,
    p_task ->> 'result',
    p_task ->> 'error',
    p_task ->> 'worker_id',
    p_task ->> 'last_action',
    p_task -> 'usage',
    coalesce(p_task ->> 'source', 'api'),
    (p_task ->> 'created_at')::timestamptz,
    (p_task ->> 'updated_at')::timestamptz,
    (p_task ->> 'started_at')::timestamptz,
    (p_task ->> 'completed_at')::timestamptz)
  on conflict (correlation_id) do nothing
  returning t.* into created;
  if not found then
    return false;
  end if;
  if created.ticks > 0 then
    update public.profiles p
       set ticks_used_today = p.ticks_used_today + created.ticks, updated_at = now()
     where p.id = created.user_id
       and p.quota_day = (timezone('utc', created.created_at))::date;
  end if;
  return true;
exception when foreign_key_violation then
  return false;
end
$$;

revoke execute on function public.adopt_task(jsonb) from public, anon, authenticated;
grant execute on function public.adopt_task(jsonb) to service_role;
