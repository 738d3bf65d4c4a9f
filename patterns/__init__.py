"""The reference architectures, one package per case (see registry.py)."""
