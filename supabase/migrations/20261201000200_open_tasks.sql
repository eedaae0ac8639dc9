-- Open tasks for the gateway's reconciler to check against Redis: the task rows Redis must
-- hold a live copy of (a worker claimed the task, or its copy cannot have expired yet, its
-- last write being less than p_fresh_within seconds old). One whose copy is gone was lost
-- with it (a Redis restart without persistence, say) and is queued again. Keyset pages by
-- correlation_id (p_after), so a pass over many open tasks is spread over several calls.

create function public.open_tasks(p_after uuid, p_fresh_within double precision, p_limit integer)
returns setof public.tasks
language sql stable security definer set search_path = ''
as $$
  select * from public.tasks t
   where t.status not in ('completed', 'failed', 'cancelled')
     and t.queued_at is not null
     and (t.status <> 'pending' or t.updated_at > now() - make_interval(secs => p_fresh_within))
     and t.correlation_id > p_after
   order by t.correlation_id
   limit p_limit;
$$;

revoke execute on function public.open_tasks(uuid, double precision, integer)
  from public, anon, authenticated;
grant execute on function public.open_tasks(uuid, double precision, integer) to service_role;
