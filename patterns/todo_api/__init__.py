from patterns.todo_api.case import CASE

__all__ = ["CASE"]
