-- country_table: trials with at least one site in each country, per report group, basis, year.
-- grain: one row per (modality, basis, year, country_code).
-- A trial counts once in every country where it has a current site (removed countries are
-- left out); share = trials / all trials of that modality, basis and year, so shares add up to
-- more than 1 for multinational trials. Trials without any location appear as 'Not provided'
-- (country_code XX) with a null rank. Ties: competition ranking (1, 2, 2, 4) by trials, rows of
-- equal rank ordered by country name.
-- Long-term follow-up and expanded-access studies are excluded; country_table_by(true) includes follow-up,
-- country_table_by(false, include_expanded_access := true) expanded access.
-- columns:
--   modality: Report group: CAR-T, TCR-T, TIL, NK (NK + CAR-NK) or ALL.
--   basis: Year basis: first_posted, first_submitted or start.
--   year: Calendar year under that basis.
--   rank: Competition rank by trials within the group, basis and year (1, 2, 2, 4); null for Not provided.
--   country_code: ISO 3166-1 alpha-2 code; XX = Not provided (no location), ZZ = unmapped country string.
--   country: Canonical English country name.
--   trials: Trials with at least one current site in the country.
--   share: trials / all trials of the group, basis and year (multinational trials count in several countries).
create or replace macro country_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

countries as (
    select nct_id, country_code, country from trial_countries where not is_removed
),

totals as (
    select modality, basis, year, trials from yearly_counts_by(include_follow_up, include_expanded_access := include_expanded_access)
),

counted as (
    select
        counted_trials.modality,
        counted_trials.basis,
        counted_trials.year::integer as year,
        countries.country_code,
        any_value(countries.country) as country,
        count(distinct counted_trials.nct_id)::bigint as trials
    from counted_trials
    inner join countries on countries.nct_id = counted_trials.nct_id
    group by counted_trials.modality, counted_trials.basis, counted_trials.year, countries.country_code
),

final as (
    select
        counted.modality,
        counted.basis,
        counted.year,
        case when counted.country_code = 'XX' then null else rank() over (
            partition by counted.modality, counted.basis, counted.year,
                counted.country_code = 'XX'
            order by counted.trials desc
        ) end::integer as rank,
        counted.country_code,
        counted.country,
        counted.trials,
        (counted.trials / totals.trials)::double as share
    from counted
    inner join totals
        on totals.modality = counted.modality
        and totals.basis = counted.basis
        and totals.year = counted.year
)

select * from final;

create or replace view country_table as
select * from country_table_by(false)
