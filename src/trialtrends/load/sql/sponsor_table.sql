-- sponsor_table: trials per sponsor, per report group, year basis, year and role.
-- grain: one row per (modality, basis, year, role, sponsor).
-- role 'lead' counts a trial for its lead sponsor only; role 'any' counts it for every
-- organisation that is lead sponsor or collaborator (so one trial counts for several sponsors).
-- sponsor is the canonical name; sponsor_country its home country where known.
-- share = trials / all trials of that modality, basis and year. Ties: competition ranking
-- (1, 2, 2, 4) by trials, rows of equal rank ordered by sponsor name.
-- Long-term follow-up and expanded-access studies are excluded; sponsor_table_by(true) includes follow-up,
-- sponsor_table_by(false, include_expanded_access := true) expanded access.
-- columns: modality=report_group, basis, year, role=sponsor_role, rank, sponsor, sponsor_country,
--   trials, share
-- not null: rank, trials, share
create or replace macro sponsor_table_by(include_follow_up, include_expanded_access := false) as table
with counted_trials as (
    select nct_id, modality, basis, year from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

sponsors as (
    select nct_id, 'lead' as role, sponsor, sponsor_country
    from trial_sponsors where role = 'lead'
    union all
    select nct_id, 'any' as role, sponsor, sponsor_country
    from trial_sponsors
),

counted as (
    select
        counted_trials.modality,
        counted_trials.basis,
        counted_trials.year::integer as year,
        sponsors.role,
        sponsors.sponsor,
        any_value(sponsors.sponsor_country) as sponsor_country,
        count(distinct counted_trials.nct_id)::bigint as trials
    from counted_trials
    inner join sponsors on sponsors.nct_id = counted_trials.nct_id
    group by counted_trials.modality, counted_trials.basis, counted_trials.year, sponsors.role, sponsors.sponsor
),

ranked as (
    select
        modality,
        basis,
        year,
        role,
        competition_rank(trials, (modality, basis, year, role), false) as rank,
        sponsor,
        sponsor_country,
        trials
    from counted
)

select * from with_share_by('ranked', include_follow_up, include_expanded_access := include_expanded_access);

create or replace view sponsor_table as
select * from sponsor_table_by(false)
