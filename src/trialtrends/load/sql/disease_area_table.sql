-- disease_area_table: trials per disease area, per report group, year basis and year.
-- grain: one row per (modality, basis, year, area).
-- A trial counts once in every area it names (trial_diseases), so a basket trial of lymphoma and
-- lupus counts in both and shares add up to more than 1; a trial with no trial_diseases row
-- counts as 'unknown'. share = trials / all trials of that modality, basis and year.
-- Zero years are filled: every area ever seen has a row (trials 0) for each year from the
-- group's first to its last year under that basis, so charts of the areas over time need no
-- gap filling.
-- Long-term follow-up and expanded-access studies are excluded; disease_area_table_by(true) includes follow-up,
-- disease_area_table_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, area, trials, share
-- not null: trials, share
create or replace macro disease_area_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

diseases as (
    select distinct nct_id, area from trial_diseases
),

totals as (
    select modality, basis, year, trials from yearly_counts_by(include_follow_up, include_expanded_access := include_expanded_access)
),

areas as (
    select distinct area from trial_diseases
    union
    select 'unknown' as area
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
        coalesce(diseases.area, 'unknown') as area,
        count(distinct counted_trials.nct_id)::bigint as trials
    from counted_trials
    left join diseases on diseases.nct_id = counted_trials.nct_id
    group by all
),

grid as (
    select year_range.modality, year_range.basis, year_range.year, areas.area
    from year_range
    cross join areas
),

filled as (
    select
        grid.modality,
        grid.basis,
        grid.year,
        grid.area,
        coalesce(counted.trials, 0)::bigint as trials
    from grid
    left join counted
        on counted.modality = grid.modality
        and counted.basis = grid.basis
        and counted.year = grid.year
        and counted.area = grid.area
)

select * from with_share_by('filled', include_follow_up, include_expanded_access := include_expanded_access);

create or replace view disease_area_table as
select * from disease_area_table_by(false)
