from patterns.software_updates.case import CASE

__all__ = ["CASE"]
