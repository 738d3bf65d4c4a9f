"""Teardown of what the streaming emulations create beyond the runtime's own cleaners:
IoT topic rules and Glue databases (with their tables). Registered with
:func:`app.runtime.teardown.register_cleaner` when this package is imported.
"""
from __future__ import annotations

from app.runtime import teardown as td


def _topic_rules(clients, region, wanted, dry_run=False):
    iot = clients.client("iot", region)
    out = []
    for rule in iot.list_topic_rules().get("rules", []):
        name, arn = rule["ruleName"], rule["ruleArn"]
        if not wanted("iot", name, lambda arn=arn: {t["Key"]: t["Value"] for t in
                                                    iot.list_tags_for_resource(resourceArn=arn).get("tags", [])}):
            continue
        if not dry_run:
            td._ignore_missing(iot.delete_topic_rule, ruleName=name)
        out.append(f"iot:rule/{name}")
    return out


def _glue(clients, region, wanted, dry_run=False):
    glue = clients.client("glue", region)
    out = []
    for db in glue.get_databases().get("DatabaseList", []):
        name = db["Name"]
        arn = f"arn:aws:glue:{region}:{clients.account_id}:database/{name}"
        if not wanted("glue", name, lambda arn=arn: glue.get_tags(ResourceArn=arn).get("Tags", {})):
            continue
        if not dry_run:
            for table in glue.get_tables(DatabaseName=name).get("TableList", []):
                td._ignore_missing(glue.delete_table, DatabaseName=name, Name=table["Name"])
            td._ignore_missing(glue.delete_database, Name=name)
        out.append(f"glue:database/{name}")
    return out


def register() -> None:
    if not any(fn in (_topic_rules, _glue) for _, fn, _ in td._CLEANERS):
        td.register_cleaner("iot", _topic_rules)
        td.register_cleaner("glue", _glue)
