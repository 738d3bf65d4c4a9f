"""The Streamlit user interface: the only part of the project that imports streamlit."""
