"""Load: the only stage that writes the warehouse.

The DDL from the table contracts, the views, and the atomic publish.
"""
