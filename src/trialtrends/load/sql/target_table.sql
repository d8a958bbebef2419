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
-- columns:
--   modality: Report group: CAR-T, TCR-T, TIL, NK (NK + CAR-NK) or ALL.
--   basis: Year basis: first_posted, first_submitted or start.
--   year: Calendar year under that basis.
--   rank: Competition rank by trials within the group, basis and year (1, 2, 2, 4); null for
--     'Not named'.
--   target: Canonical antigen name (CD19, BCMA, ...); 'Not named' for trials naming no target.
--   trials: Trials of the group in that year naming the target.
--   share: trials / all trials of the group, basis and year (multi-target trials count for
--     each target).
create or replace macro target_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

targets as (
    select nct_id, unnest(targets) as target from trial_flags
),

totals as (
    select modality, basis, year, trials from yearly_counts_by(include_follow_up, include_expanded_access := include_expanded_access)
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

final as (
    select
        counted.modality,
        counted.basis,
        counted.year,
        case when counted.target = 'Not named' then null else rank() over (
            partition by counted.modality, counted.basis, counted.year,
                counted.target = 'Not named'
            order by counted.trials desc
        ) end::integer as rank,
        counted.target,
        counted.trials,
        (counted.trials / totals.trials)::double as share
    from counted
    inner join totals
        on totals.modality = counted.modality
        and totals.basis = counted.basis
        and totals.year = counted.year
)

select * from final;

create or replace view target_table as
select * from target_table_by(false)
