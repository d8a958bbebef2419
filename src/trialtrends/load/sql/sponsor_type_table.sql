-- sponsor_type_table: trials per sponsor type, per report group, year basis, year and role.
-- grain: one row per (modality, basis, year, role, sponsor_type).
-- role 'lead' counts a trial for the type of its lead sponsor; role 'any' counts it once for
-- every type among its lead sponsor and collaborators (an academic trial with an industry
-- collaborator counts for academic and industry, so shares add up to more than 1).
-- sponsor_type: academic, hospital, industry, government or other (trial_sponsors).
-- share = trials / all trials of that modality, basis and year.
-- Zero years are filled: every sponsor type ever seen has a row (trials 0) for each year from
-- the group's first to its last year under that basis, for both roles.
-- Long-term follow-up and expanded-access studies are excluded; sponsor_type_table_by(true) includes follow-up,
-- sponsor_type_table_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, role=sponsor_role, sponsor_type, trials, share
-- not null: trials, share
create or replace macro sponsor_type_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

sponsors as (
    select nct_id, 'lead' as role, sponsor_type from trial_sponsors where role = 'lead'
    union all
    select nct_id, 'any' as role, sponsor_type from trial_sponsors
),

totals as (
    select modality, basis, year, trials from yearly_counts_by(include_follow_up, include_expanded_access := include_expanded_access)
),

types as (
    select distinct sponsor_type from trial_sponsors
),

roles as (
    select role from (values ('lead'), ('any')) as roles (role)
),

year_range as (
    select modality, basis, unnest(generate_series(min(year), max(year)))::integer as year
    from totals
    group by modality, basis
),

counted as (
    select
        counted_trials.modality,
        counted_trials.basis,
        counted_trials.year::integer as year,
        sponsors.role,
        sponsors.sponsor_type,
        count(distinct counted_trials.nct_id)::bigint as trials
    from counted_trials
    inner join sponsors on sponsors.nct_id = counted_trials.nct_id
    group by all
),

grid as (
    select year_range.modality, year_range.basis, year_range.year, roles.role, types.sponsor_type
    from year_range
    cross join roles
    cross join types
),

filled as (
    select
        grid.modality,
        grid.basis,
        grid.year,
        grid.role,
        grid.sponsor_type,
        coalesce(counted.trials, 0)::bigint as trials
    from grid
    left join counted
        on counted.modality = grid.modality
        and counted.basis = grid.basis
        and counted.year = grid.year
        and counted.role = grid.role
        and counted.sponsor_type = grid.sponsor_type
)

select * from with_share_by('filled', include_follow_up, include_expanded_access := include_expanded_access);

create or replace view sponsor_type_table as
select * from sponsor_type_table_by(false)
