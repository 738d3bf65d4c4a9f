"""The pure core: cases, parameters, diagrams. Nothing here imports streamlit."""
