"""The cell-therapy modality classifier (rules: `trialtrends.data.modality_rules`).

Modules: `compiled` (rule data -> regex strings), `exprs` (shared expressions), `tiers` (masks,
and the rule classes of a tier judged once per distinct text), `items` (intervention list
facts), `guards` (design guards, generic), `products` (product-dictionary hits), `targets`,
`roles` (role and cell source), `evidence`, `engine` (the pipeline, `classify`).
"""

from trialtrends.transform.classify.engine import cell_therapy_ids, classify
from trialtrends.transform.classify.model import CLASSIFIER_VERSION, MODALITIES, REPORT_GROUPS, Classification

__all__ = [
    "CLASSIFIER_VERSION", "MODALITIES", "REPORT_GROUPS", "Classification", "cell_therapy_ids", "classify",
]  # fmt: skip
