-- target_table: trials per antigen target, per report group, year basis and year.
-- grain: one row per (modality, basis, year, target).
-- A trial counts once for every target it names (trial_flags.targets: canonical antigens such
-- as CD19, BCMA, GPC3), so a dual-target CD19/CD22 trial counts for both and shares add up to
-- more than 1. Trials naming no target appear as target 'Not named' with a null rank.
-- share = trials / all trials of that modality, basis and year. Ties: competition ranking
-- (1, 2, 2, 4) by trials. Years without a trial for a target have no row (the report fills
-- zeros).
-- Long-term follow-up and expanded-access studies are excluded; target_table_by(true) includes follow-up,
-- target_table_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, rank, target, trials, share
-- not null: trials, share
create or replace macro target_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

targets as (
    select nct_id, unnest(targets) as target from trial_flags
),

counted as (
    select
        counted_trials.modality,
        counted_trials.basis,
        counted_trials.year::integer as year,
        coalesce(targets.target, 'Not named') as target,
        count(distinct counted_trials.nct_id)::bigint as trials
    from counted_trials
    left join targets on targets.nct_id = counted_trials.nct_id
    group by all
),

ranked as (
    select
        modality,
        basis,
        year,
        competition_rank(trials, (modality, basis, year), target = 'Not named') as rank,
        target,
        trials
    from counted
)

select * from with_share_by('ranked', include_follow_up, include_expanded_access := include_expanded_access);

create or replace view target_table as
select * from target_table_by(false)
