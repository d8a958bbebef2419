-- trial_group_years: each counted trial with its report group and its year under each basis.
-- grain: one row per (nct_id, modality, basis).
-- The one place that decides what the trend views count: trials in a report group (CAR-T,
-- TCR-T, TIL, NK, ALL) as investigational or combination products; follow-up studies left out
-- unless include_follow_up, expanded-access records left out unless include_expanded_access
-- (default false, so trial_group_years_by(true) keeps its meaning); withdrawn trials stay in;
-- a year per basis (a trial lacking that basis's date has no row for it).
-- columns: nct_id, modality=report_group, basis, year
create or replace macro trial_group_years_by(include_follow_up, include_expanded_access := false) as table
with groups as (
    select nct_id, modality from trial_report_groups
    where (include_follow_up or not is_long_term_follow_up)
        and (include_expanded_access or not is_expanded_access)
),

years as (
    select nct_id, basis, year from trial_years
),

final as (
    select groups.nct_id, groups.modality, years.basis, years.year
    from groups
    inner join years on years.nct_id = groups.nct_id
)

select * from final;

create or replace view trial_group_years as
select * from trial_group_years_by(false)
