-- products_by_country: products per developer country and modality (product_table).
-- grain: one row per (developer_country, modality).
-- developer_country is 'Unknown' when the dictionary does not say. products_in_trials counts
-- the products with at least one counted trial ("in clinical development"); approved_products
-- those approved by any agency. Combinations without a product have no row.
-- Long-term follow-up and expanded-access studies are excluded; products_by_country_by(true) includes follow-up,
-- products_by_country_by(false, include_expanded_access := true) expanded access.
-- columns: developer_country, modality, products, products_in_trials, approved_products
-- not null: products, products_in_trials, approved_products
create or replace macro products_by_country_by(include_follow_up, include_expanded_access := false) as table
with catalogue as (
    select coalesce(developer_country, 'Unknown') as developer_country, modality, trials, is_approved
    from product_table_by(include_follow_up, include_expanded_access := include_expanded_access)
),

final as (
    select
        developer_country,
        modality,
        count(*)::bigint as products,
        count(*) filter (where trials > 0)::bigint as products_in_trials,
        count(*) filter (where is_approved)::bigint as approved_products
    from catalogue
    group by developer_country, modality
)

select * from final;

create or replace view products_by_country as
select * from products_by_country_by(false)
