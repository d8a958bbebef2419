-- cell_source_table: trials per cell source and the basis of that source, per report group,
-- year basis and year.
-- grain: one row per (modality, basis, year, cell_source, source_basis).
-- Each trial has one cell source (trial_flags.cell_source), so a group's rows of a year add up to
-- its trials of that year; source_basis is trial_flags.cell_source_basis, or 'unknown' where that
-- is null (an unclear source). share = trials / all trials of that modality, basis and year.
-- Long-term follow-up and expanded-access studies are excluded; cell_source_table_by(true) includes
-- follow-up, cell_source_table_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, cell_source, source_basis, trials, share
-- not null: trials, share
create or replace macro cell_source_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

flags as (
    select nct_id, cell_source, coalesce(cell_source_basis, 'unknown') as source_basis from trial_flags
),

counted as (
    select
        counted_trials.modality,
        counted_trials.basis,
        counted_trials.year::integer as year,
        flags.cell_source,
        flags.source_basis,
        count(distinct counted_trials.nct_id)::bigint as trials
    from counted_trials
    inner join flags on flags.nct_id = counted_trials.nct_id
    group by counted_trials.modality, counted_trials.basis, counted_trials.year, flags.cell_source, flags.source_basis
)

select * from with_share_by('counted', include_follow_up, include_expanded_access := include_expanded_access);

create or replace view cell_source_table as
select * from cell_source_table_by(false)
