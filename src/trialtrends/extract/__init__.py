"""Extract: the only stage that reads the outside world.

The ClinicalTrials.gov client and its searches, the API pull and the bulk-file readers, and the
raw landing (`<data>/raw/<run_id>/`) that every later stage reads from.
"""
