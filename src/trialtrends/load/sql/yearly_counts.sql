-- yearly_counts: trials per report group, year basis and year.
-- grain: one row per (modality, basis, year); years with no trial have no row (the report
-- fills zeros).
-- Long-term follow-up and expanded-access studies are excluded; yearly_counts_by(true) includes follow-up,
-- yearly_counts_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, trials
-- not null: trials
create or replace macro yearly_counts_by(include_follow_up, include_expanded_access := false) as table
with counted as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

final as (
    select modality, basis, year::integer as year, count(distinct nct_id)::bigint as trials
    from counted
    group by modality, basis, year
)

select * from final;

create or replace view yearly_counts as
select * from yearly_counts_by(false)
