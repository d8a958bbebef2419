-- phase_distribution: trials per phase within each report group, year basis and year.
-- grain: one row per (modality, basis, year, phase).
-- share = trials in the phase / all trials of that modality, basis and year (sums to 1).
-- phase_order sorts phases from Early Phase 1 to Not Provided.
-- Long-term follow-up and expanded-access studies are excluded; phase_distribution_by(true) includes follow-up,
-- phase_distribution_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, phase, trials, share, phase_order
-- not null: trials, share, phase_order
create or replace macro phase_distribution_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

phases as (
    select nct_id, phase from trials
),

counted as (
    select
        counted_trials.modality,
        counted_trials.basis,
        counted_trials.year::integer as year,
        phases.phase,
        count(distinct counted_trials.nct_id)::bigint as trials
    from counted_trials
    inner join phases on phases.nct_id = counted_trials.nct_id
    group by counted_trials.modality, counted_trials.basis, counted_trials.year, phases.phase
),

final as (
    select
        modality,
        basis,
        year,
        phase,
        trials,
        (trials / sum(trials) over (partition by modality, basis, year))::double as share,
        case phase
            when 'Early Phase 1' then 1 when 'Phase 1' then 2 when 'Phase 1/2' then 3
            when 'Phase 2' then 4 when 'Phase 2/3' then 5 when 'Phase 3' then 6
            when 'Phase 4' then 7 when 'Not Applicable' then 8 else 9
        end::integer as phase_order
    from counted
)

select * from final;

create or replace view phase_distribution as
select * from phase_distribution_by(false)
