-- products_by_phase: products per modality and highest phase reached (product_table).
-- grain: one row per (modality, highest_phase).
-- highest_phase is 'No phase given' for products whose counted trials give no phase and
-- 'No counted trial' for products without a counted trial. approved_products counts those of
-- the row that any agency has approved. Combinations without a product have no row.
-- Long-term follow-up and expanded-access studies are excluded; products_by_phase_by(true) includes follow-up,
-- products_by_phase_by(false, include_expanded_access := true) expanded access.
-- columns: modality, highest_phase, phase_order, products, approved_products
-- not null: phase_order, products, approved_products
create or replace macro products_by_phase_by(include_follow_up, include_expanded_access := false) as table
with catalogue as (
    select
        modality,
        case
            when highest_phase is not null then highest_phase
            when trials > 0 then 'No phase given'
            else 'No counted trial'
        end as highest_phase,
        case
            when highest_phase is not null then highest_phase_order
            when trials > 0 then 8
            else 9
        end::integer as phase_order,
        is_approved
    from product_table_by(include_follow_up, include_expanded_access := include_expanded_access)
),

final as (
    select
        modality,
        highest_phase,
        phase_order,
        count(*)::bigint as products,
        count(*) filter (where is_approved)::bigint as approved_products
    from catalogue
    group by modality, highest_phase, phase_order
)

select * from final;

create or replace view products_by_phase as
select * from products_by_phase_by(false)
