from patterns.paid_content.case import CASE

__all__ = ["CASE"]
