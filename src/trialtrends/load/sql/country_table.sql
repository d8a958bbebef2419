-- country_table: trials with at least one site in each country, per report group, basis, year.
-- grain: one row per (modality, basis, year, country_code).
-- A trial counts once in every country where it has a current site (removed countries are
-- left out); share = trials / all trials of that modality, basis and year, so shares add up to
-- more than 1 for multinational trials. Trials without any location appear as 'Not provided'
-- (country_code XX) with a null rank. Ties: competition ranking (1, 2, 2, 4) by trials, rows of
-- equal rank ordered by country name.
-- Long-term follow-up and expanded-access studies are excluded; country_table_by(true) includes follow-up,
-- country_table_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, rank, country_code, country, trials, share
-- not null: country, trials, share
create or replace macro country_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

countries as (
    select nct_id, country_code, country from trial_countries where not is_removed
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

ranked as (
    select
        modality,
        basis,
        year,
        competition_rank(trials, (modality, basis, year), country_code = 'XX') as rank,
        country_code,
        country,
        trials
    from counted
)

select * from with_share_by('ranked', include_follow_up, include_expanded_access := include_expanded_access);

create or replace view country_table as
select * from country_table_by(false)
