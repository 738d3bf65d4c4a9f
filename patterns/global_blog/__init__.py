from patterns.global_blog.case import CASE

__all__ = ["CASE"]
