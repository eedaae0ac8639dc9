-- The outbox: every task row records whether the broker confirmed its message.
--
-- A submission inserts the row (queued_at null), publishes, and once RabbitMQ confirms the
-- message the gateway sets queued_at (in small batches, off the request's path). A row still
-- pending and unconfirmed after a grace period belongs to a gateway that died before or while
-- publishing, or to a publish whose confirm never came: any gateway replica claims it (a lease,
-- skip-locked, so replicas never take the same row), republishes it or, after too long, fails
-- it. Agents drop a second copy of a message whose task another delivery already claimed.

alter table public.tasks
  add column queued_at timestamptz,
  add column queue_attempts integer not null default 0,
  add column requeue_after timestamptz;

comment on column public.tasks.queued_at is
  'When RabbitMQ confirmed the task''s message; null: not (yet) known to be queued.';
comment on column public.tasks.requeue_after is
  'Lease of the gateway replica that last tried to queue this task again.';

-- Rows that existed before the outbox were queued when they were submitted.
update public.tasks set queued_at = created_at where queued_at is null;

create index tasks_unqueued_idx on public.tasks (created_at)
  where queued_at is null and status = 'pending';

create function public.mark_queued(p_ids uuid[]) returns void
language sql security definer set search_path = ''
as $$
  update public.tasks set queued_at = now()
   where correlation_id = any (p_ids) and queued_at is null;
$$;

-- Claim up to p_limit pending tasks submitted more than p_older_than seconds ago whose
-- message was never confirmed; each stays claimed for p_older_than seconds.
create function public.claim_unqueued(p_older_than double precision, p_limit integer)
returns setof public.tasks
language plpgsql security definer set search_path = ''
as $$
begin
  return query
    update public.tasks t
       set queue_attempts = t.queue_attempts + 1,
           requeue_after = now() + make_interval(secs => p_older_than)
     where t.correlation_id in (
             select u.correlation_id from public.tasks u
              where u.queued_at is null
                and u.status = 'pending'
                and u.created_at < now() - make_interval(secs => p_older_than)
                and (u.requeue_after is null or u.requeue_after <= now())
              order by u.created_at
              limit p_limit
              for update skip locked)
    returning t.*;
end
$$;

revoke execute on function public.mark_queued(uuid[]),
  public.claim_unqueued(double precision, integer) from public, anon, authenticated;
grant execute on function public.mark_queued(uuid[]),
  public.claim_unqueued(double precision, integer) to service_role;
