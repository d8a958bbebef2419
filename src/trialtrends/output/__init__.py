"""Output: read-only access to the published warehouse: ad-hoc SQL, the report and its files."""
