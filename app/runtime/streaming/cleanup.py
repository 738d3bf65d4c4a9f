"""Teardown of what the streaming emulations create beyond the runtime's own kinds:
IoT topic rules and Glue databases (with their tables). Added to the table of
:mod:`app.runtime.teardown` when this package is imported.
"""
from __future__ import annotations

from app.runtime import teardown as td


def _delete_database(glue, db, where) -> None:
    for table in glue.get_tables(DatabaseName=db["Name"]).get("TableList", []):
        td.ignore_missing(glue.delete_table, DatabaseName=db["Name"], Name=table["Name"])
    td.ignore_missing(glue.delete_database, Name=db["Name"])


KINDS = (
    td.Kind("iot", "iot", td.listed("list_topic_rules", "rules"), lambda r: r["ruleName"],
            lambda iot, r, w: td.key_values(iot.list_tags_for_resource(resourceArn=r["ruleArn"]).get("tags", [])),
            lambda iot, r, w: td.ignore_missing(iot.delete_topic_rule, ruleName=r["ruleName"]),
            label=lambda r: f"rule/{r['ruleName']}"),
    td.Kind("glue", "glue", td.listed("get_databases", "DatabaseList"), lambda db: db["Name"],
            lambda glue, db, w: glue.get_tags(ResourceArn=f"arn:aws:glue:{w.region}:{w.account_id}:database/"
                                                          f"{db['Name']}").get("Tags", {}),
            _delete_database, label=lambda db: f"database/{db['Name']}"),
)


def register() -> None:
    for kind in KINDS:
        td.register_kind(kind)
