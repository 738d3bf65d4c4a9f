"""Every case the explorer knows, in the order the course presents them.

To add a case: create ``patterns/<name>/`` with an ``__init__.py`` that exposes
``CASE`` (an ``app.core.cases.Case``), then add its package here.
"""

CASE_PACKAGES = (
    "patterns.todo_api",
    "patterns.global_blog",
    "patterns.microservices",
    "patterns.paid_content",
    "patterns.software_updates",
    "patterns.iot_analytics",
)
