from patterns.iot_analytics.case import CASE

__all__ = ["CASE"]
