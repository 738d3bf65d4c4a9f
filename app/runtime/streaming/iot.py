"""IoT Core message broker and rules engine over topic rules stored in moto.

moto stores topic rules (CreateTopicRule, GetTopicRule) and the IoT data plane's
Publish, but a published message never reaches a rule. :class:`IotRulesEngine`
reads the rules from moto (the control plane stays true), and ``publish(topic,
payload)`` does what the rules engine does: for every enabled rule whose
``FROM`` filter matches the topic and whose ``WHERE`` holds (see
:mod:`app.runtime.streaming.iot_sql`), it builds the rule's output from the
``SELECT`` and runs the rule's actions:

- ``kinesis``: PutRecord of the output JSON to ``streamName`` with ``partitionKey``
  (a substitution template such as ``${topic()}`` or ``${newuuid()}``; a new UUID
  when absent, as AWS picks a random key).
- ``lambda``: calls ``invoke(function_name, output)`` (AWS invokes asynchronously;
  here it runs before ``publish`` returns).
- ``dynamoDB``: PutItem with ``hashKeyField``/``hashKeyValue`` (and the range key,
  typed by ``hashKeyType``/``rangeKeyType``, STRING by default) and the output in
  ``payloadField`` (default ``payload``).
- ``dynamoDBv2``: PutItem of the output, each top-level field a column.
- ``sqs``: SendMessage of the output JSON to ``queueUrl`` (base64-encoded when
  ``useBase64`` is true), the usual kind of a rule's ``errorAction``.

A payload larger than the broker's limit (``facts.IOT_MAX_PAYLOAD_BYTES``) is refused
with RequestEntityTooLargeException, as IoT Core's Publish answers, and counted in
``refused``; it reaches no rule. Substitution templates are evaluated against the incoming message and topic.
Counters per rule: ``matched``, ``actions_run``, ``errors``. A failed action is
counted, kept in ``errors`` and, if the rule has an ``errorAction`` of a supported
kind, that action runs with the same output. Rules are read on the first publish
and again after ``reload_rules()``.

Differences from AWS: an error action here receives the output the failed action would have
sent; on AWS it receives an error message (``ruleName``, ``topic``, ``clientId``,
``base64OriginalPayload`` and the ``failures`` with each failed action's resource and error).
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from app.core import facts
from app.runtime.dataplanes import aws_error
from app.runtime.streaming import Clock, Counters, Invoke, Traced, invoke_payload
from app.runtime.streaming.iot_sql import Context, Query, parse, substitute
from app.runtime.trace import Trace

ACTIONS = ("kinesis", "lambda", "dynamoDB", "dynamoDBv2", "sqs")
_serialize = TypeSerializer().serialize


class IotRulesEngine(Traced):
    def __init__(self, iot, *, kinesis=None, dynamodb=None, invoke: Invoke | None = None, iot_data=None,
                 sqs=None, trace: Trace | None = None, clock: Clock = time.time, calls_traced: bool = False,
                 tags: dict[str, str] | None = None) -> None:
        self.iot, self.kinesis, self.dynamodb, self.invoke, self.iot_data = iot, kinesis, dynamodb, invoke, iot_data
        self.sqs = sqs
        self.trace, self.clock, self.calls_traced = trace or Trace(), clock, calls_traced
        self.tags = dict(tags or {})           # put on every rule this engine creates
        self.counters: dict[str, Counters] = {}
        self.errors: list[dict] = []
        self.refused = 0                       # publishes refused by the broker (payload too large)
        self._rules: list[tuple[str, Query, dict]] | None = None

    # -- rules ---------------------------------------------------------------------
    def create_rule(self, name: str, sql: str, actions: list[dict], *, error_action: dict | None = None,
                    disabled: bool = False, tags: dict[str, str] | None = None) -> None:
        """Check the SQL and actions here, then CreateTopicRule in moto."""
        parse(sql)
        for action in actions + ([error_action] if error_action else []):
            _check_action(action)
        payload = {"sql": sql, "actions": actions, "ruleDisabled": disabled, "awsIotSqlVersion": "2016-03-23"}
        if error_action:
            payload["errorAction"] = error_action
        with self.call_span("iot", "CreateTopicRule", name):
            tags = {**self.tags, **(tags or {})}
            extra = {"tags": "&".join(f"{k}={v}" for k, v in tags.items())} if tags else {}
            self.iot.create_topic_rule(ruleName=name, topicRulePayload=payload, **extra)
        self._rules = None

    def reload_rules(self) -> None:
        """Read the topic rules from moto again (ListTopicRules, GetTopicRule)."""
        rules = []
        with self.call_span("iot", "ListTopicRules"):
            listed = self.iot.list_topic_rules()["rules"]
        for item in listed:
            rule = self.iot.get_topic_rule(ruleName=item["ruleName"])["rule"]
            if not rule.get("ruleDisabled"):
                rules.append((rule["ruleName"], parse(rule["sql"]), rule))
        self._rules = rules

    def stats(self) -> dict[str, dict[str, int]]:
        return {name: c.as_dict() for name, c in self.counters.items()}

    # -- data plane ----------------------------------------------------------------
    def publish(self, topic: str, payload: bytes | str | dict, *, client_id: str = "") -> list[str]:
        """Publish one message; returns the names of the rules that matched."""
        if self._rules is None:
            self.reload_rules()
        raw = json.dumps(payload).encode() if isinstance(payload, dict) else (
            payload.encode() if isinstance(payload, str) else bytes(payload))
        if len(raw) > facts.IOT_MAX_PAYLOAD_BYTES.value:
            self.refused += 1
            raise aws_error("RequestEntityTooLargeException", f"Payload of {len(raw)} bytes is larger than the "
                            f"{facts.IOT_MAX_PAYLOAD_BYTES.value} bytes allowed", "Publish", status=413)
        try:
            message = json.loads(raw)
        except ValueError:
            message = raw
        if self.iot_data is not None:
            with self.call_span("iot", "Publish", topic, payload_bytes=len(raw)):
                self.iot_data.publish(topic=topic, qos=0, payload=raw)
        ctx = Context(message=message, topic=topic, client_id=client_id, timestamp_ms=int(self.clock() * 1000))
        matched = []
        for name, query, rule in self._rules:
            if not query.matches(ctx):
                continue
            counters = self.counters.setdefault(name, Counters())
            counters.add("matched")
            matched.append(name)
            output = query.project(ctx)
            for action in rule.get("actions", []):
                if not self._run(name, action, output, ctx) and rule.get("errorAction"):
                    self._run(name, rule["errorAction"], output, ctx)
        return matched

    def _run(self, rule: str, action: dict, output: Any, ctx: Context) -> bool:
        kind, params = next(iter(action.items()))
        counters = self.counters.setdefault(rule, Counters())
        with self.trace.span("iot", f"Action:{kind}", rule) as span:
            try:
                getattr(self, f"_action_{kind}")(params, output, ctx)
            except Exception as exc:  # an action failure is the rule's error, not the publisher's
                span.status = "error"
                counters.add("errors")
                self.errors.append({"rule": rule, "action": kind, "error": f"{type(exc).__name__}: {exc}"})
                return False
        counters.add("actions_run")
        return True

    def _action_kinesis(self, params: dict, output: Any, ctx: Context) -> None:
        key = substitute(params["partitionKey"], ctx) if params.get("partitionKey") else str(uuid.uuid4())
        self.kinesis.put_record(StreamName=params["streamName"], Data=_bytes(output), PartitionKey=key)

    def _action_lambda(self, params: dict, output: Any, ctx: Context) -> None:
        if self.invoke is None:
            raise RuntimeError("no invoke callable was given to the rules engine")
        invoke_payload(self.invoke, params["functionArn"].split(":")[-1], output)

    def _action_dynamoDB(self, params: dict, output: Any, ctx: Context) -> None:
        item = {params["hashKeyField"]: _typed(substitute(params["hashKeyValue"], ctx), params.get("hashKeyType"))}
        if params.get("rangeKeyField"):
            item[params["rangeKeyField"]] = _typed(substitute(params["rangeKeyValue"], ctx), params.get("rangeKeyType"))
        item[params.get("payloadField") or "payload"] = _serialize(_for_dynamodb(output))
        self.dynamodb.put_item(TableName=params["tableName"], Item=item)

    def _action_dynamoDBv2(self, params: dict, output: Any, ctx: Context) -> None:
        if not isinstance(output, dict):
            raise ValueError("dynamoDBv2 needs a JSON object as the rule's output")
        table = substitute(params["putItem"]["tableName"], ctx)
        self.dynamodb.put_item(TableName=table, Item={k: _serialize(_for_dynamodb(v)) for k, v in output.items()})


    def _action_sqs(self, params: dict, output: Any, ctx: Context) -> None:
        body = _bytes(output)
        text = base64.b64encode(body).decode("ascii") if params.get("useBase64") else body.decode()
        self.sqs.send_message(QueueUrl=params["queueUrl"], MessageBody=text)


def _check_action(action: dict) -> None:
    if len(action) != 1 or next(iter(action)) not in ACTIONS:
        raise ValueError(f"an action is one of {', '.join(ACTIONS)}, not {', '.join(action) or 'empty'}")


def _typed(value: str, kind: str | None) -> dict:
    return {"N": value} if kind == "NUMBER" else {"S": value}


def _bytes(output: Any) -> bytes:
    return output if isinstance(output, bytes) else json.dumps(output).encode()


def _for_dynamodb(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _for_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_dynamodb(v) for v in value]
    return value
