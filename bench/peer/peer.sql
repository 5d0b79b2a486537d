-- What PostGraphile 4 needs, beyond reflecting Circles' own tables, to answer the queries of
-- bench/peer.sh. Circles' tables are not changed: the file adds two functions, one in the
-- schema `peer`, and one in `public` because PostGraphile 4 takes a computed column only from
-- its table's own schema (graphile-build-pg's PgComputedColumnsPlugin skips a function whose
-- namespace is not the table's). bench/peer.sh applies this file to the bench database (and
-- only there) before PostGraphile starts and serves `--schema public,peer`.
--
-- Plain PostGraphile gives, from the tables and their foreign keys:
--   allGroups(condition, orderBy, first)       query B (region_key, status; NAME_ASC, ID_ASC)
--   groupById(id)                              query ONE
--   Group.programByProgramId                   program { ... }
--   Group.groupMeetingsByGroupId(orderBy)      meetings { ... }
-- and from this file:
--   searchGroups(region, withoutCodes, first)  query A: the "without these funding
--                                              restrictions" filter, with totalCount
--   Group.effectiveFundingRestrictions         the group's own flags plus its program's

create schema if not exists peer;

-- A group's effective funding restrictions: its own and its program's, each once, ordered by
-- code (as Circles' `Group.effectiveFundingRestrictions`). A computed column of `groups`:
-- in `public`, beside its table (see above).
create or replace function public.groups_effective_funding_restrictions(g public.groups)
returns setof public.funding_restrictions
language sql stable
as $$
  select f.*
  from public.funding_restrictions f
  where f.id in (
      select gf.funding_restriction_id from public.group_funding_restrictions gf where gf.group_id = g.id
      union all
      select pf.funding_restriction_id from public.program_funding_restrictions pf where pf.program_id = g.program_id
    )
  order by f.code
$$;

-- Active groups of a region whose effective funding restrictions include none of
-- `without_codes`, ordered by name then id (Circles' `groups(filter: {region,
-- withoutFundingRestrictions})`). The region is keyed as Circles keys it: blanks collapsed,
-- lower case (the parameters are named with the function's name: a bare `region` would be
-- the column). An unknown code matches no flag, so it excludes nothing (Circles rejects it).
create or replace function peer.search_groups(region text, without_codes text[] default '{}')
returns setof public.groups
language sql stable
as $$
  select g.*
  from public.groups g
  where g.status = 'ACTIVE'
    and g.region_key = lower(regexp_replace(btrim(search_groups.region), '\s+', ' ', 'g'))
    and not exists (
      select 1
      from public.group_funding_restrictions gf
      join public.funding_restrictions f on f.id = gf.funding_restriction_id
      where gf.group_id = g.id and f.code = any (search_groups.without_codes)
    )
    and not exists (
      select 1
      from public.program_funding_restrictions pf
      join public.funding_restrictions f on f.id = pf.funding_restriction_id
      where pf.program_id = g.program_id and f.code = any (search_groups.without_codes)
    )
  order by g.name, g.id
$$;
