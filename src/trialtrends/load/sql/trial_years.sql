-- trial_years: the year each trial counts in, under each year basis.
-- grain: one row per (nct_id, basis); a trial lacking the basis date has no row for it.
-- basis: first_posted (default: "registered in a year"), first_submitted, start.
-- columns: nct_id, basis, year
create or replace view trial_years as
with trials as (
    select nct_id, first_posted_year, first_submitted_year, start_year
    from trials
),

final as (
    select nct_id, 'first_posted' as basis, first_posted_year::integer as year
    from trials where first_posted_year is not null
    union all
    select nct_id, 'first_submitted' as basis, first_submitted_year::integer as year
    from trials where first_submitted_year is not null
    union all
    select nct_id, 'start' as basis, start_year::integer as year
    from trials where start_year is not null
)

select * from final
