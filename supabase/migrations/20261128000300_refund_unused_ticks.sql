-- A submission reserves max_ticks against the day's quota; once the task is finished, the ticks
-- it did not use are given back, so the quota counts ticks actually spent. The refund happens in
-- the same guarded update that makes the task terminal, which can succeed only once per task.
-- Tasks submitted on an earlier UTC day refund nothing (that day's count is gone).

create or replace function public.apply_task_update(p_task jsonb) returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  changed public.tasks;
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
     and public.task_status_rank(p_task ->> 'status') >= public.task_status_rank(t.status)
  returning t.* into changed;
  if not found then
    return false;
  end if;
  if changed.status in ('completed', 'failed', 'cancelled') and changed.ticks < changed.max_ticks then
    update public.profiles p
       set ticks_used_today = greatest(p.ticks_used_today - (changed.max_ticks - changed.ticks), 0),
           updated_at = now()
     where p.id = changed.user_id
       and p.quota_day = (timezone('utc', changed.created_at))::date;
  end if;
  return true;
end
$$;

comment on column public.profiles.ticks_used_today is
  'Ticks reserved on quota_day by open tasks plus ticks spent by finished ones; reset lazily by '
  'the first submission of a new UTC day.';
