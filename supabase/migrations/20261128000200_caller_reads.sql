-- Reads under the caller's row-level security in one round trip.
--
-- Each function switches to the `authenticated` role and sets `request.jwt.claims` for the
-- rest of its own statement (exactly what PostgREST does per request), then runs its query,
-- so RLS filters the rows even if the caller-supplied filters were wrong. Only the role that
-- owns them (the gateway's database role) may call them: an API role that could pass its own
-- claims would defeat the point.

create function public.tasks_by_id_as(p_claims text, p_ids uuid[])
returns setof public.tasks
language plpgsql security invoker set search_path = ''
as $$
begin
  perform set_config('role', 'authenticated', true),
          set_config('request.jwt.claims', p_claims, true);
  return query select t.* from public.tasks t where t.correlation_id = any (p_ids);
end
$$;

create function public.tasks_page_as(
  p_claims text,
  p_user_id uuid,
  p_limit integer,
  p_before_created timestamptz,
  p_before_id uuid
) returns setof public.tasks
language plpgsql security invoker set search_path = ''
as $$
begin
  perform set_config('role', 'authenticated', true),
          set_config('request.jwt.claims', p_claims, true);
  return query
    select t.* from public.tasks t
     where t.user_id = p_user_id
       and (p_before_created is null
            or (t.created_at, t.correlation_id) < (p_before_created, p_before_id))
     order by t.created_at desc, t.correlation_id desc
     limit p_limit;
end
$$;

revoke execute on function public.tasks_by_id_as(text, uuid[]),
  public.tasks_page_as(text, uuid, integer, timestamptz, uuid)
  from public, anon, authenticated, service_role;
