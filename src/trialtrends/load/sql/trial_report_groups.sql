-- trial_report_groups: the report groups (CAR-T, TCR-T, TIL, NK, ALL) each trial counts in.
-- grain: one row per (nct_id, modality).
-- A trial counts in a group when the classifier found one of the group's modalities
-- (report_groups maps modalities to groups: NK = NK + CAR-NK; ALL = any of the four).
-- is_long_term_follow_up is carried so the trend macros can leave those studies out.
-- columns:
--   nct_id: ClinicalTrials.gov identifier (NCT + 8 digits).
--   modality: Report group the trial counts in: CAR-T, TCR-T, TIL, NK (NK + CAR-NK) or ALL.
--   is_long_term_follow_up: True for long-term follow-up, registry and real-world studies (no product given); left out of the default counts.
create or replace view trial_report_groups as
with modalities as (
    select distinct nct_id, modality from trial_modalities
),

groups as (
    select modality, report_group from report_groups
),

flags as (
    select nct_id, is_long_term_follow_up from trial_flags
),

final as (
    select distinct
        modalities.nct_id,
        groups.report_group as modality,
        coalesce(flags.is_long_term_follow_up, false) as is_long_term_follow_up
    from modalities
    inner join groups on groups.modality = modalities.modality
    left join flags on flags.nct_id = modalities.nct_id
)

select * from final
