"""MyTodoList's checks: what the run did, read back from the backend (the verify steps of the pipeline)."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from app.core import format as fmt
from app.runtime.pipeline import Check, Pipeline, RunContext

if TYPE_CHECKING:
    from patterns.todo_api.pipeline import State


def v_signin(ctx: RunContext["State"]):
    users, pool = ctx.state.users, ctx.state.user_pool
    statuses = {u.email: pool.user_status(u.email) for u in users.values()}
    claims = {name: pool.verify(u.id_token) for name, u in users.items()}
    return [
        Check("two users confirmed in the user pool", all(s == "CONFIRMED" for s in statuses.values()),
              "user status read back: " + fmt.series(f"{e} {s}" for e, s in statuses.items())),
        Check("ID tokens verify against the pool's JWKS", all(claims[n]["sub"] == users[n].sub for n in users),
              "RS256 signature, issuer, audience and expiry checked; sub matches the sign-up"),
        Check("a wrong password is refused", ctx.state.wrong_password == "NotAuthorizedException",
              f"InitiateAuth answered {ctx.state.wrong_password}"),
    ]


def v_identity(ctx: RunContext["State"]):
    from app.runtime.clients import Clients

    a, b = ctx.state.users["alice"], ctx.state.users["bob"]
    listed = ctx.client("cognito-identity").list_identities(IdentityPoolId=ctx.state.identities.id,
                                                            MaxResults=10)["Identities"]
    c = a.credentials
    who = Clients(account_id=ctx.clients.account_id, region=ctx.clients.region, access_key=c["AccessKeyId"],
                  secret_key=c["SecretKey"], session_token=c["SessionToken"],
                  endpoint_url=ctx.clients.endpoint_url).client("sts").get_caller_identity()
    return [
        Check("identity id is stable per user",
              a.identity_id == a.identity_id_again and b.identity_id == b.identity_id_again
              and a.identity_id != b.identity_id,
              f"alice {a.identity_id} twice, bob {b.identity_id} twice; the pool lists {len(listed)} identities"),
        Check("credentials are the role's temporary STS credentials",
              who["Arn"].startswith(f"arn:aws:sts::{ctx.clients.account_id}:assumed-role/")
              and c["AccessKeyId"].startswith("ASIA"),
              f"GetCallerIdentity with them: {who['Arn']}; they expire at {fmt.utc(int(c['Expiration'].timestamp()) * 1000)}"),
    ]


def v_prefix(ctx: RunContext["State"]):
    s3, bucket, own = ctx.client("s3"), ctx.state.bucket, ctx.state.own
    stored = s3.get_object(Bucket=bucket, Key=own["key"])["Body"].read()
    listing = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    ctx.artifact("s3_listing", {bucket: listing})
    denied = ctx.state.denied
    planted = ctx.state.denied_key in listing
    return [
        Check("user wrote and read back under their own prefix",
              stored == own["body"] == own["read"] and own["key"] in own["listing"],
              f"s3://{bucket}/{own['key']} ({len(stored)} bytes) read back from the backend"),
        Check("write under another user's prefix is denied by the role's policy",
              denied["status"] == "denied" and denied.get("code") == "AccessDenied" and not planted,
              f"{denied['request']}: {denied.get('code')} ({(denied.get('decision') or {}).get('reason')}); "
              f"the object {'EXISTS' if planted else 'does not exist'} in the bucket"),
    ]


def v_unauthorized(ctx: RunContext["State"]):
    attempts = ctx.state.unauthorized
    return Check("authorizer answers 401 without invoking the function",
                 len(attempts) == 3 and all(a["status"] == 401 and not a["lambda_invoked"] for a in attempts)
                 and ctx.state.invocations_during_401 == 0,
                 "; ".join(f"{a['token']}: {a['status']}" for a in attempts)
                 + f"; function invocations meanwhile: {ctx.state.invocations_during_401}")


def v_crud(ctx: RunContext["State"]):
    ddb = ctx.client("dynamodb")

    def items_of(user: str) -> list[dict]:
        return ddb.query(TableName=ctx.state.table, KeyConditionExpression="user_id = :u", ConsistentRead=True,
                         ExpressionAttributeValues={":u": {"S": ctx.state.users[user].sub}})["Items"]

    items, bob_items = items_of("alice"), items_of("bob")
    by_id = {i["todo_id"]["S"]: i for i in items}
    crud = ctx.state.crud
    ids = [m.get("todo_id") for m in crud["made"]]
    ctx.artifact("dynamodb_items", [{k: list(v.values())[0] for k, v in i.items()}
                                    for i in sorted(items + bob_items, key=lambda i: i["todo_id"]["S"])
                                    if not i["todo_id"]["S"].startswith("t0")][:20])
    # Requests the API failed (5xx) or that were never sent because the todo they need was not created.
    tally = Counter(f"{e['request']} answered {e['status']}" if e["status"] else f"{e['request']} {e['body']}"
                    for e in crud["failed"])
    why = "; " + fmt.series(f"{what} (x{n})" if n > 1 else what for what, n in tally.items()) if tally else ""
    return [
        Check("created todos are stored under the caller's sub",
              all(ids[:2]) and ids[0] in by_id and ids[1] in by_id
              and [i["title"]["S"] for i in bob_items if not i["todo_id"]["S"].startswith("t0")]
              == ["Water the plants"],
              f"alice holds {len(by_id)} items, bob {len(bob_items)}; read back with a consistent Query" + why),
        Check("update and delete reached the table",
              all(ids) and ids[1] in by_id and by_id[ids[1]]["done"]["BOOL"] is True and ids[2] not in by_id
              and crud["deleted_status"] == 204 and crud["gone_status"] == 404,
              f"PUT answered {crud['updated_status'] or 'nothing (not sent)'}; DELETE answered "
              f"{crud['deleted_status'] or 'nothing (not sent)'}, then GET "
              f"answered {crud['gone_status'] or 'nothing (not sent)'}"),
        Check("another user cannot read the todo", crud["cross_status"] == 404,
              f"bob's GET of alice's todo answered {crud['cross_status'] or 'nothing (not sent)'} "
              "(partition key is the caller)"),
    ]


def v_caches(ctx: RunContext["State"]):
    reads = ctx.state.cache_reads
    checks = []
    first3 = reads[:3]
    if ctx.values["api_cache"]:
        checks.append(Check("stage cache answers repeated GETs without Lambda",
                            first3[0]["api_cache"] == "miss" and first3[0]["lambda_invoked"]
                            and all(r["api_cache"] == "hit" and not r["lambda_invoked"] for r in first3[1:]),
                            ", ".join(f"{r['read']}: {r['api_cache']}, lambda "
                                      f"{'ran' if r['lambda_invoked'] else 'not invoked'}" for r in first3)))
        stale, fresh = reads[3], reads[4]
        checks.append(Check("after a write the cached GET is stale until the client asks for a fresh copy",
                            stale["api_cache"] == "hit" and stale["done"] is False
                            and fresh["lambda_invoked"] and fresh["done"] is True,
                            f"after PUT: {stale['api_cache']} with done={stale['done']}; with max-age=0: "
                            f"lambda ran, done={fresh['done']}"))
    else:
        checks.append(Check("without the stage cache every GET reaches Lambda",
                            all(r["lambda_invoked"] and r["api_cache"] == "off" for r in reads),
                            f"{len(reads)} GETs, {sum(r['lambda_invoked'] for r in reads)} invocations"))
    if ctx.values["dax"]:
        reached = [r for r in reads if r["lambda_invoked"]]
        checks.append(Check("DAX serves repeated reads from its item cache",
                            reached[0]["dax"] == "miss" and all(r["dax"] == "hit" for r in reached[1:]),
                            ", ".join(f"{r['read']}: DAX {r['dax']}" for r in reached)))
        after = [r for r in reads if "after PUT" in r["read"] or "max-age" in r["read"]]
        fresh = [r for r in after if r["lambda_invoked"]]
        checks.append(Check("DAX is write-through: a read after the write sees the new value",
                            all(r["done"] is True for r in fresh) and bool(fresh),
                            ", ".join(f"{r['read']}: done={r['done']} (DAX {r['dax']})" for r in fresh)))
    else:
        dax_spans = [s for s in ctx.trace.spans if s.service == "dax"]
        checks.append(Check("without DAX the function reads DynamoDB directly", not dax_spans,
                            f"{len(dax_spans)} DAX calls in the trace"))
    return checks


def v_traffic(ctx: RunContext["State"]):
    workload = ctx.state.options.workload
    t = ctx.state.traffic
    ok_status = sum(n for s, n in t["statuses"].items() if s == 200) == t["reads"] + t["writes"]
    parts = [f"{t['reads'] + t['writes']} requests ({t['reads']} GET, {t['writes']} PUT) in "
             f"{fmt.duration(t['measured_ms_total'])} executed here; Lambda ran {t['lambda_invocations']} times"]
    if not ok_status:
        parts.append("answered " + ", ".join(f"{n} x {s}" for s, n in sorted(t["statuses"].items())))
    good = ok_status and t["reads"] + t["writes"] == workload.requests
    if "api_cache" in t:
        parts.append(f"stage cache hit ratio {fmt.percent(t['api_cache']['hit_ratio'])}")
        good = good and t["lambda_invocations"] == t["writes"] + t["api_cache"]["misses"]
    else:
        good = good and t["lambda_invocations"] == workload.requests
    if "dax" in t:
        parts.append(f"DAX hit ratio {fmt.percent(t['dax']['hit_ratio'])}")
    return Check("traffic run completed and hit ratios were measured", good, "; ".join(parts))


def add_checks(p: Pipeline) -> None:
    p.add("verify", "Users signed in and received tokens", "cognito-idp", v_signin)
    p.add("verify", "Identity ids are stable and credentials are temporary", "cognito-identity", v_identity)
    p.add("verify", "Per-user prefix: own writes succeed, another user's prefix is denied", "s3", v_prefix)
    p.add("verify", "Missing, forged and expired tokens get 401 and reach no Lambda", "apigateway", v_unauthorized)
    p.add("verify", "Todos in DynamoDB match what the API answered", "dynamodb", v_crud)
    p.add("verify", "Caches behaved as configured", "apigateway", v_caches)
    p.add("verify", "Traffic run measured each cache's hit ratio", "apigateway", v_traffic)
