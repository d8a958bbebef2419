-- yearly_counts: trials per report group, year basis and year.
-- grain: one row per (modality, basis, year); years with no trial have no row.
-- Long-term follow-up studies are excluded; yearly_counts_by(true) includes them.
create or replace macro yearly_counts_by(include_follow_up) as table
with groups as (
    select nct_id, modality from trial_report_groups
    where include_follow_up or not is_long_term_follow_up
),

years as (
    select nct_id, basis, year from trial_years
),

final as (
    select
        groups.modality,
        years.basis,
        years.year::integer as year,
        count(distinct groups.nct_id)::bigint as trials
    from groups
    inner join years on years.nct_id = groups.nct_id
    group by groups.modality, years.basis, years.year
)

select * from final;

create or replace view yearly_counts as
select * from yearly_counts_by(false)
