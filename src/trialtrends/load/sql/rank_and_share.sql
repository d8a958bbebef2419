-- rank_and_share: how every ranked or shared landscape view ranks and shares, written once.
-- competition_rank(trials, partition_key, unranked): rank by trials within partition_key (a row
-- of the grouping columns), ties sharing a rank and the next skipping (1, 2, 2, 4); null, and
-- ranked apart, for the row that is not ranked ('Not provided', 'Not named').
-- with_share_by(counts, include_follow_up, include_expanded_access): the rows of the CTE, view
-- or table named counts (modality, basis, year, ..., trials) with share = trials / all trials of
-- that report group, basis and year (yearly_counts_by), 0 when the year has no trial.
create or replace macro competition_rank(trials, partition_key, unranked) as
    case when unranked then null else rank() over (
        partition by partition_key, unranked
        order by trials desc
    ) end::integer;

create or replace macro with_share_by(counts, include_follow_up, include_expanded_access := false) as table
with totals as (
    select modality, basis, year, trials from yearly_counts_by(include_follow_up, include_expanded_access := include_expanded_access)
),

final as (
    select counts.*, coalesce(counts.trials / totals.trials, 0)::double as share
    from query_table(counts) as counts
    left join totals
        on totals.modality = counts.modality
        and totals.basis = counts.basis
        and totals.year = counts.year
)

select * from final
