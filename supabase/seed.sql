-- Local development data: the demo user `make run` prints a token for.
insert into auth.users (id, email)
values ('00000000-0000-4000-8000-00000000d3e0', 'demo@euglena.local')
on conflict (id) do nothing;
