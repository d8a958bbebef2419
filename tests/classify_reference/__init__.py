"""Reference engine: a pinned copy of the classifier as it was before the set-based engine.

Copied from `src/trialtrends/transform/classify/` and `transform/diseases.py` at main 446c37d
(only the package name changed). `tests/test_classify_equivalence.py` runs it beside the live
engine on the shared corpus and records and requires identical frames, so any change of verdict
in the live engine fails there. It reads the same rule data (`trialtrends.data`), so rule edits
reach both; an intended change of engine behaviour must be made here too.
"""


from classify_reference.engine import cell_therapy_ids, classify
from classify_reference.model import CLASSIFIER_VERSION, MODALITIES, REPORT_GROUPS, Classification

__all__ = [
    "CLASSIFIER_VERSION", "MODALITIES", "REPORT_GROUPS", "Classification", "cell_therapy_ids", "classify",
]  # fmt: skip
