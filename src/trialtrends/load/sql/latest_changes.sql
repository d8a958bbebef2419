-- latest_changes: what changed in the most recent published run ("what changed last night").
-- grain: one row per (nct_id) changed by that run.
-- columns: run_id, nct_id, change, changed_fields, brief_title
create or replace view latest_changes as
with last_run as (
    select max(run_id) as run_id from runs where published
),

final as (
    select changes.run_id, changes.nct_id, changes.change, changes.changed_fields,
        trials.brief_title
    from trial_changes as changes
    inner join last_run on last_run.run_id = changes.run_id
    left join trials on trials.nct_id = changes.nct_id
)

select * from final
