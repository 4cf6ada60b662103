"""Streamlit glue shared by the pages: per-visitor state, cached loaders and small display helpers.

Nothing here computes music; it only connects widgets to `musicrnn`.
"""
