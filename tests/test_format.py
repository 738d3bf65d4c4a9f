"""The number formatter: what a student reads for counts, durations, money and shares."""
from __future__ import annotations

import pytest

from app.core import format as fmt


@pytest.mark.parametrize("x,unit,text", [
    (950, "", "950"), (12_345, "", "12,345"), (30_500_000, "requests/month", "30.5 M requests/month"),
    (1.2e9, "", "1.2 B"), (1e10, "", "10 B"), (2e12, "", "2 T"), (999_999, "", "999,999"), (0, "", "0"),
])
def test_counts_use_separators_then_suffixes(x, unit, text):
    assert fmt.count(x, unit) == text


@pytest.mark.parametrize("x,unit,text", [
    (0.5, "KB", "0.5 KB"), (1024, "MB", "1,024 MB"), (0.002, "", "0.002"), (7.77e7, "", "77.7 M"),
    (20.0, "ms", "20 ms"), (1.0, "KB", "1 KB"), (0.000123, "", "0.000123"),
])
def test_quantities_have_three_significant_digits_and_no_exponent(x, unit, text):
    assert fmt.number(x, unit) == text


@pytest.mark.parametrize("ms,text", [
    (0.85, "850 µs"), (12.34, "12.3 ms"), (505.28, "505 ms"), (15_900, "15.9 s"), (1590, "1.59 s"),
    (30_420, "30.4 s"), (125_000, "125 s"), (900_000, "15 min"), (-505.28, "-505 ms"), (0, "0 ms"),
])
def test_durations_are_ms_below_a_second_and_s_above(ms, text):
    assert fmt.duration(ms) == text


@pytest.mark.parametrize("x,text", [
    (0.02, "$0.02"), (12.5, "$12.50"), (99.994, "$99.99"), (1234.56, "$1,235"), (30_500_000, "$30.5 M"),
    (-3.1, "-$3.10"),
])
def test_money_has_cents_only_below_100_dollars(x, text):
    assert fmt.usd(x) == text


@pytest.mark.parametrize("share,text", [(0.934, "93%"), (0.0042, "0.4%"), (1.0, "100%"), (0, "0%"),
                                        (0.998, "99.8%"), (0.99995, "99.9%"), (0.991, "99.1%")])
def test_percentages(share, text):
    assert fmt.percent(share) == text


def test_no_function_writes_e_notation_over_many_magnitudes():
    for exp in range(-6, 13):
        x = 1.2345 * 10 ** exp
        for text in (fmt.count(x), fmt.number(x), fmt.duration(x), fmt.usd(x), fmt.percent(x / 1e6)):
            assert "e+" not in text and "e-" not in text, text


def test_signed_puts_the_sign_of_the_delta_in_front():
    assert fmt.signed(fmt.usd(-3.1), -3.1) == "-$3.10"
    assert fmt.signed(fmt.duration(12.0), 12.0) == "+12 ms"


def test_lists_and_tallies_read_as_words():
    assert fmt.series([]) == "none"
    assert fmt.series(["miss"]) == "miss"
    assert fmt.series(["miss", "miss", "hit"]) == "miss, miss and hit"
    assert fmt.series([200, 200]) == "200 and 200"
    assert fmt.tally({"simple": 1000}) == "simple 1,000"
    assert fmt.tally({"v1": 9, "v2": 1}) == "v1 9 and v2 1"
    assert "[" not in fmt.tally({"a": 1, "b": 2}) and "{" not in fmt.tally({"a": 1})


def test_services_are_named_as_aws_names_them():
    assert fmt.service("dax") == "DAX" and fmt.service("cognito-idp") == "Cognito user pools"
    assert fmt.service("apigateway") == "API Gateway" and fmt.service("something-new") == "something-new"


def test_epoch_milliseconds_read_as_a_utc_time_and_out_of_range_ones_stay_numbers():
    assert fmt.utc(1795939245000) == "2026-11-29 08:00:45 UTC"
    assert fmt.utc(1795939245123) == "2026-11-29 08:00:45.123 UTC"
    assert fmt.utc(0) == "1970-01-01 00:00:00 UTC"
    assert fmt.utc(2 ** 63 - 1) == "9,223,372,036,854,775,807 ms since 1970"


@pytest.mark.parametrize("key,text", [
    ("lambda_invoked", "Lambda invoked"), ("api_cache", "API cache"), ("dynamodb_items", "DynamoDB items"),
    ("url_expires_in_s", "URL expires in (s)"), ("left_out_by_where", "Left out by where"),
    ("delivered_to_s3", "Delivered to S3"), ("elasticache", "ElastiCache"), ("Served from", "Served from"),
])
def test_headings_name_services_as_aws_does_and_put_units_in_brackets(key, text):
    assert fmt.heading(key) == text


def test_settings_read_as_words_with_their_units():
    class P:
        label, unit = "CloudFront TTL", "s"

    assert fmt.setting("CloudFront TTL", 86_400, "s") == "CloudFront TTL 86,400 s (1 day)"
    assert fmt.setting("TTL", 300, "s") == "TTL 300 s (5 minutes)"
    assert fmt.setting("TTL", 90, "s") == "TTL 90 s"
    assert fmt.setting("API cache", True) == "API cache on"
    text = fmt.settings({"cloudfront_ttl_s": 86_400, "iot_things": 5, "buffer_mb": 5.0}, {"cloudfront_ttl_s": P()})
    assert text == "CloudFront TTL 86,400 s (1 day), IoT things 5, Buffer 5 MB"
    assert "_" not in fmt.settings({"cache_node_type": "cache.t4g.micro", "orders_tasks": 2})
