-- yearly_counts: trials per report group, year basis and year.
-- grain: one row per (modality, basis, year); years with no trial have no row.
-- Long-term follow-up studies are excluded; yearly_counts_by(true) includes them.
create or replace macro yearly_counts_by(include_follow_up) as table
with counted as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up)
),

final as (
    select modality, basis, year::integer as year, count(distinct nct_id)::bigint as trials
    from counted
    group by modality, basis, year
)

select * from final;

create or replace view yearly_counts as
select * from yearly_counts_by(false)
