-- trial_report_groups: the report groups (CAR-T, TCR-T, TIL, NK, ALL) each trial counts in.
-- grain: one row per (nct_id, modality).
-- A trial counts in a group when the classifier found one of the group's modalities
-- (report_groups maps modalities to groups: NK = NK + CAR-NK; ALL = any of the four).
-- is_long_term_follow_up and is_expanded_access are carried so the trend macros can leave those
-- studies out.
-- columns: nct_id, modality=report_group, is_long_term_follow_up, is_expanded_access
-- not null: is_long_term_follow_up, is_expanded_access
create or replace view trial_report_groups as
with modalities as (
    select nct_id, modality, role from trial_modalities
),

groups as (
    select modality, report_group from report_groups
),

flags as (
    select nct_id, is_expanded_access from trial_flags
),

final as (
    select
        modalities.nct_id,
        groups.report_group as modality,
        bool_and(modalities.role = 'follow_up') as is_long_term_follow_up,
        coalesce(any_value(flags.is_expanded_access), false) as is_expanded_access
    from modalities
    inner join groups on groups.modality = modalities.modality
    left join flags on flags.nct_id = modalities.nct_id
    group by modalities.nct_id, groups.report_group
)

select * from final
