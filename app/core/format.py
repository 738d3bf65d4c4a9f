"""Numbers as a student reads them: one formatter for every figure on screen.

Rules: thousands separators, SI-style suffixes for large counts, milliseconds below a second and
seconds above, US dollars with cents only below $100, and never e-notation.

API (all return ``str``):

* ``count(x, unit="")``: ``950`` -> "950", ``30_500_000`` -> "30.5 M", ``1.2e9`` -> "1.2 B",
  ``12_345`` -> "12,345" (below a million the full number with separators); a unit is appended
  after a space ("30.5 M requests/month").
* ``number(x, unit="")``: a measured quantity (sizes, ratios): up to three significant digits,
  separators, never e-notation ("0.5 KB", "1,024 MB", "0.002"); above a million as ``count``.
* ``duration(ms)``: "850 µs", "12.3 ms", "505 ms", "1.59 s", "30.4 s", "2 min 5 s".
* ``usd(x)``: "$0.02", "$12.50", "$1,234", "$30.5 M"; negative amounts as "-$3.10".
* ``percent(share)``: 0.934 -> "93%", 0.0042 -> "0.4%".
* ``signed(text, delta)``: "+" or "-" in front of an already formatted magnitude.
* ``series(items)``: a list in words: "a", "a and b", "a, b and c"; none as "none".
* ``clip(text)``: text a user gave, as a notice or an error quotes it: whole up to 100 characters, else its
  first 100 and its length ("xxxx… (100,000 characters)"); ``quoted(text)`` the same in quotes
  ("'dax'", "'xxxx…' (100,000 characters)").
* ``service(api_name)``: an AWS API's client name as the service is called: "dax" -> "DAX",
  "cognito-idp" -> "Cognito user pools", "apigateway" -> "API Gateway" (unknown names unchanged).
* ``utc(epoch_ms)``: a moment given in milliseconds since 1970 as people read it, in UTC:
  ``1795939245000`` -> "2026-11-29 08:00:45 UTC"; one no calendar holds stays a number
  ("9,223,372,036,854,775,807 ms since 1970").
* ``tally(counts)``: counts by name in words: {"simple": 1000} -> "simple 1,000"; {"v1": 9, "v2": 1} ->
  "v1 9 and v2 1".
* ``heading(key)``: a field name as a heading: ``lambda_invoked`` -> "Lambda invoked", ``dynamodb_items`` ->
  "DynamoDB items", ``url_expires_in_s`` -> "URL expires in (s)" (a trailing unit goes in brackets).
* ``setting(label, value, unit="")``: a setting in words with its unit: ("CloudFront TTL", 86400, "s") ->
  "CloudFront TTL 86,400 s (1 day)", ("Cache node type", "cache.t4g.micro") -> "Cache node type cache.t4g.micro".
* ``settings(values, params)``: several settings: ``params`` maps a key to something with ``label`` and
  ``unit`` (a model's Param); other keys are named by ``heading``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))


def _trim(text: str) -> str:
    """'30.50' -> '30.5', '2.00' -> '2'."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _sig(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits, thousands separators, no exponent."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    return _trim(f"{round(x, decimals):,.{decimals}f}")


def _suffixed(x: float) -> str | None:
    for scale, suffix in _SUFFIXES:
        if abs(x) >= scale:
            return f"{_sig(x / scale)} {suffix}"
    return None


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


def count(x: float, unit: str = "") -> str:
    """A count of things: full number with separators below a million, then 30.5 M, 1.2 B."""
    return _with_unit(_suffixed(x) or f"{round(x):,}", unit)


def number(x: float, unit: str = "") -> str:
    """A quantity: three significant digits (no exponent), suffixed from a million up."""
    if abs(x) >= 1000:
        return _with_unit(_suffixed(x) or f"{round(x):,}", unit)
    return _with_unit(_sig(x), unit)


def duration(ms: float) -> str:
    """A time given in milliseconds: µs below 1 ms, ms below a second, s above, minutes from 10 min."""
    a = abs(ms)
    sign = "-" if ms < 0 else ""
    if a == 0:
        return "0 ms"
    if a < 1:
        return f"{sign}{_sig(a * 1000)} µs"
    if a < 1000:
        return f"{sign}{_sig(a)} ms"
    s = a / 1000
    if s < 600:
        return f"{sign}{_sig(s)} s"
    minutes, seconds = divmod(round(s), 60)
    if minutes < 60:
        return f"{sign}{minutes} min {seconds} s" if seconds else f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"


def usd(x: float) -> str:
    """US dollars: cents below $100, whole dollars with separators above, M and B from a million."""
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a < 100:
        return f"{sign}${a:,.2f}"
    return f"{sign}${_suffixed(a) or f'{round(a):,}'}"


def percent(share: float) -> str:
    """A share from 0 to 1 as a percentage: whole percent, one decimal below 1% and above 99%, where
    rounding would say "0%" or "100%" of something that is not none or all (99.97% reads 99.9%)."""
    p = share * 100
    if p != 0 and abs(p) < 1:
        return f"{_trim(f'{p:.1f}')}%"
    if 99 < p < 100:
        return f"{_trim(f'{math.floor(p * 10) / 10:.1f}')}%"
    return f"{round(p):,}%"


def signed(text: str, delta: float) -> str:
    """Prefix a formatted magnitude with the sign of ``delta`` ("+$3.10", "-505 ms")."""
    return ("-" if delta < 0 else "+") + text.lstrip("-")


def series(items) -> str:
    """Items in words: "a", "a and b", "a, b and c" ("none" when there are none)."""
    words = [str(i) for i in items]
    if not words:
        return "none"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


QUOTE_LIMIT = 100      # the most of a user's text a message quotes: a link or an argument may carry 100 KB


def clip(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """``text`` whole when it is at most ``limit`` characters, else its first ``limit`` and its length."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}\u2026 ({len(text):,} characters)"


def quoted(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """``text`` in quotes as :func:`repr` writes a string, cut as :func:`clip` cuts it."""
    text = str(text)
    return repr(text) if len(text) <= limit else f"{text[:limit] + chr(0x2026)!r} ({len(text):,} characters)"


_SERVICES = {"apigateway": "API Gateway", "s3": "S3", "dynamodb": "DynamoDB", "cloudfront": "CloudFront",
             "route53": "Route 53", "lambda": "Lambda", "iot": "IoT Core", "dax": "DAX",
             "cognito-idp": "Cognito user pools", "cognito-identity": "Cognito identity pools", "sqs": "SQS",
             "ses": "SES", "sns": "SNS", "glue": "Glue", "firehose": "Data Firehose", "kinesis": "Kinesis",
             "ecs": "ECS", "autoscaling": "EC2 Auto Scaling", "athena": "Athena", "sts": "STS",
             "secretsmanager": "Secrets Manager", "rds": "RDS", "iam": "IAM", "ec2": "EC2",
             "elasticloadbalancing": "Elastic Load Balancing", "elbv2": "Elastic Load Balancing",
             "elasticache": "ElastiCache"}


def service(api_name: str) -> str:
    """The service an API client name belongs to, as AWS names it ("dax" -> "DAX")."""
    return _SERVICES.get(api_name, api_name)


def utc(epoch_ms: float) -> str:
    """Milliseconds since 1970 as a UTC time, "2026-11-29 08:00:45 UTC" (milliseconds shown when there are
    any); a value outside the calendar as the number it is."""
    try:
        t = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError, TypeError):
        return f"{epoch_ms:,} ms since 1970" if isinstance(epoch_ms, int) else str(epoch_ms)
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    if t.microsecond:
        text += f".{t.microsecond // 1000:03d}"
    return text + " UTC"


def tally(counts) -> str:
    """Counts by name in words: "simple 1,000", "v1 9 and v2 1"."""
    return series(f"{name} {count(n) if isinstance(n, (int, float)) else n}" for name, n in dict(counts).items())


_ACRONYMS = {"api": "API", "dax": "DAX", "s3": "S3", "url": "URL", "id": "ID", "ms": "ms", "sqs": "SQS",
             "sns": "SNS", "ses": "SES", "ttl": "TTL", "http": "HTTP", "ip": "IP", "dynamodb": "DynamoDB",
             "elasticache": "ElastiCache", "cloudfront": "CloudFront", "iot": "IoT", "rds": "RDS", "alb": "ALB",
             "ecs": "ECS", "sql": "SQL", "json": "JSON", "etag": "ETag", "arn": "ARN", "utc": "UTC",
             "pk": "PK", "sk": "SK"}
_UNITS = {"s": "s", "ms": "ms", "mb": "MB", "mib": "MiB", "kb": "KB", "gb": "GB", "bytes": "bytes"}


def heading(key: str) -> str:
    """A heading from a field name: ``lambda_invoked`` -> "Lambda invoked", ``api_cache`` -> "API cache",
    ``url_expires_in_s`` -> "URL expires in (s)"; a name already written as words is kept."""
    if "_" not in key and not key.islower():
        return key
    words = key.split("_")
    unit = _UNITS[words.pop()] if len(words) > 1 and words[-1] in _UNITS else ""
    words = [_ACRONYMS.get(w, w) for w in words]
    first = words[0] if words[0] in _ACRONYMS.values() else words[0][:1].upper() + words[0][1:]
    return " ".join([first, *words[1:]]) + (f" ({unit})" if unit else "")


def _span(seconds: float) -> str:
    """A whole number of days, hours or minutes in words ("1 day", "6 hours", "5 minutes"), else ""."""
    for size, name in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n:,} {name}{'s' if n != 1 else ''}"
    return ""


def setting(label: str, value: Any, unit: str = "") -> str:
    """A setting in words with its unit: "CloudFront TTL 86,400 s (1 day)", "DAX nodes 1", "API cache on"."""
    if isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, (int, float)):
        text = number(value, unit)
        if unit == "s" and _span(value):
            text += f" ({_span(value)})"
    else:
        text = _with_unit(str(value), unit)
    return f"{label} {text}"


def settings(values: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> str:
    """Several settings in words: a key of ``params`` by its label and unit, any other by its heading."""
    params = params or {}
    out = []
    for key, value in values.items():
        p = params.get(key)
        if p is not None:
            unit = p.unit if p.unit and p.unit.lower() not in p.label.lower() else ""
            out.append(setting(p.label, value, unit))
        else:
            words = key.split("_")
            unit = _UNITS.get(words[-1], "") if len(words) > 1 else ""
            out.append(setting(heading("_".join(words[:-1]) if unit else key), value, unit))
    return ", ".join(out)


__all__ = ["count", "number", "duration", "usd", "percent", "signed", "series", "tally", "service", "utc",
           "heading", "setting", "settings"]
