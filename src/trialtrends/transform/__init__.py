"""Transform: raw study records to frames (pure functions, no I/O).

Flattening and the normalised tables, country and sponsor canonicalisation, the text the
classifiers read, and the classifiers themselves.
"""
