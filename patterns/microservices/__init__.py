from patterns.microservices.case import CASE

__all__ = ["CASE"]
