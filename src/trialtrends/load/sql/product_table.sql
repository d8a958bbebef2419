-- product_table: the cell-therapy products of the reviewed dictionary, with their approvals and
-- their trials (the "products in clinical development" table of landscape reviews).
-- grain: one row per (product_id).
-- trials counts the product's trials (trial_products) that the default rules count in a report
-- group (any year, any basis; long-term follow-up studies excluded); highest_phase is the
-- highest phase among those trials (Early Phase 1 < Phase 1 < Phase 1/2 < Phase 2 < Phase 2/3 <
-- Phase 3 < Phase 4; Not Applicable and Not Provided do not count as a phase), null when none.
-- approvals lists every agency's first approval as 'FDA 2017; EMA 2018', ordered by year.
-- A product of a modality outside the report groups (CAR-M, CAR-NKT, ...) counts only trials that
-- also test a report-group modality.
-- Long-term follow-up and expanded-access studies are excluded; product_table_by(true) includes follow-up,
-- product_table_by(false, include_expanded_access := true) expanded access.
-- columns: product_id, name, inn, brand_names, modality, targets, cell_source, developer,
--   developer_country, is_approved, approvals, first_approval_year, trials, first_trial_year,
--   highest_phase, highest_phase_order
-- not null: name, modality, is_approved, trials
create or replace macro product_table_by(include_follow_up, include_expanded_access := false) as table
with catalogue as (
    select product_id, name, inn, brand_names, modality, targets, cell_source, developer,
        developer_country
    from products
),

approval_lists as (
    select
        product_id,
        string_agg(agency || ' ' || year::varchar, '; ' order by year, agency) as approvals,
        min(year)::integer as first_approval_year
    from product_approvals
    group by product_id
),

counted_trials as (
    select distinct nct_id from trial_group_years_by(include_follow_up, include_expanded_access := include_expanded_access)
),

phases as (
    -- The same order as phase_distribution.phase_order; 8-9 (no phase) are not a phase reached.
    select
        nct_id,
        phase,
        first_posted_year,
        case phase
            when 'Early Phase 1' then 1 when 'Phase 1' then 2 when 'Phase 1/2' then 3
            when 'Phase 2' then 4 when 'Phase 2/3' then 5 when 'Phase 3' then 6
            when 'Phase 4' then 7 when 'Not Applicable' then 8 else 9
        end::integer as phase_order
    from trials
),

product_trials as (
    select
        trial_products.product_id,
        count(distinct trial_products.nct_id)::bigint as trials,
        min(phases.first_posted_year)::integer as first_trial_year,
        max(phases.phase_order) filter (where phases.phase_order <= 7) as highest_phase_order
    from trial_products
    inner join counted_trials on counted_trials.nct_id = trial_products.nct_id
    inner join phases on phases.nct_id = trial_products.nct_id
    group by trial_products.product_id
),

final as (
    select
        catalogue.product_id,
        catalogue.name,
        catalogue.inn,
        catalogue.brand_names,
        catalogue.modality,
        catalogue.targets,
        catalogue.cell_source,
        catalogue.developer,
        catalogue.developer_country,
        (approval_lists.product_id is not null) as is_approved,
        approval_lists.approvals,
        approval_lists.first_approval_year,
        coalesce(product_trials.trials, 0)::bigint as trials,
        product_trials.first_trial_year,
        case product_trials.highest_phase_order
            when 1 then 'Early Phase 1' when 2 then 'Phase 1' when 3 then 'Phase 1/2'
            when 4 then 'Phase 2' when 5 then 'Phase 2/3' when 6 then 'Phase 3' when 7 then 'Phase 4'
        end as highest_phase,
        product_trials.highest_phase_order::integer as highest_phase_order
    from catalogue
    left join approval_lists on approval_lists.product_id = catalogue.product_id
    left join product_trials on product_trials.product_id = catalogue.product_id
)

select * from final;

create or replace view product_table as
select * from product_table_by(false)
