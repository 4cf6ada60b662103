"""Plotly figures (pure functions: data in, figure out; no Streamlit): notes, training, metrics, the How-it-works page."""
