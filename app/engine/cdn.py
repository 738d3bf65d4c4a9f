"""CloudFront's two ways to pay: pay-as-you-go (per GB and per request, tiered per zone) or a flat-rate plan.

A flat-rate plan (Free, Pro, Business, Premium; launched 2025-11-18) is one monthly price per
distribution with a request and a data-transfer allowance and no overage charges. The plans and
their allowances are data in the price book (``cloudfront.plan.*``). A model hands its edge traffic
per zone to :func:`bill_cloudfront`, which bills the chosen way and says which plan fits the
workload, what pay-as-you-go would cost, and the volume at which the two cost the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.params import Param
from app.engine.books import Price, PriceBook
from app.engine.costs import CostSheet

PAY_AS_YOU_GO = "pay-as-you-go"
PLAN_CHOICES = (PAY_AS_YOU_GO, "Free", "Pro", "Business", "Premium")


def pricing_param(default: str = PAY_AS_YOU_GO) -> Param:
    return Param("cloudfront_pricing", "CloudFront pricing", "choice", default,
                 "Pay per GB and per request (tiered), or a flat-rate plan: one monthly price per distribution "
                 "with a request and data allowance, no overage charges.", choices=PLAN_CHOICES)


@dataclass(frozen=True)
class Traffic:
    """What the edges of one zone deliver in a month."""
    zone: str
    requests: float
    gb: float
    region: str = ""


def payg_usd(prices: PriceBook, traffic: list[Traffic], scale: float = 1.0) -> float:
    sheet = CostSheet(prices)
    _bill_payg(sheet, traffic, scale)
    return sheet.total


def _bill_payg(sheet: CostSheet, traffic: list[Traffic], scale: float = 1.0) -> None:
    # Tiers count each zone's monthly volume separately, so zones are billed one by one.
    for t in traffic:
        sheet.add(f"cloudfront.dto.{t.zone}", t.gb * scale, region=t.region)
        sheet.add(f"cloudfront.https.{t.zone}", t.requests * scale, region=t.region)


def terms(plan: Price) -> dict:
    """A flat-rate plan's name and allowances (what the price book says of the plan)."""
    if plan.plan is None:
        raise ValueError(f"{plan.key} is not a flat-rate plan")
    return plan.plan


def fits(plan: Price, requests: float, gb: float) -> bool:
    return requests <= terms(plan)["requests"] and gb <= terms(plan)["data_transfer_gb"]


def plan_named(prices: PriceBook, name: str) -> Price:
    return next(p for p in prices.plans() if terms(p)["name"] == name)


def break_even_scale(prices: PriceBook, traffic: list[Traffic], plan: Price) -> float | None:
    """The factor on this workload's volume at which pay-as-you-go costs what ``plan`` does
    (None when pay-as-you-go stays cheaper as long as the plan's allowance lasts)."""
    requests = sum(t.requests for t in traffic)
    gb = sum(t.gb for t in traffic)
    if requests <= 0 and gb <= 0:
        return None
    limit = min(terms(plan)["requests"] / requests if requests else float("inf"),
                terms(plan)["data_transfer_gb"] / gb if gb else float("inf"))
    if payg_usd(prices, traffic, limit) < plan.usd:
        return None
    lo, hi = 0.0, limit
    for _ in range(60):
        mid = (lo + hi) / 2
        if payg_usd(prices, traffic, mid) < plan.usd:
            lo = mid
        else:
            hi = mid
    return hi


def bill_cloudfront(sheet: CostSheet | None, prices: PriceBook, traffic: list[Traffic], choice: str,
                    volume_label: str = "requests a month", volume: float | None = None) -> dict[str, Any]:
    """Bill the edges' delivery the chosen way; return what a learner compares (plan that fits, break-even).

    With ``sheet`` None nothing is billed: the comparison for a configuration without CloudFront."""
    requests = sum(t.requests for t in traffic)
    gb = sum(t.gb for t in traffic)
    payg = payg_usd(prices, traffic)
    plans = prices.plans()
    fitting = next((p for p in plans if fits(p, requests, gb)), None)
    out: dict[str, Any] = {"pricing": choice, "requests": requests, "data_transfer_gb": gb,
                           "pay_as_you_go_usd": payg,
                           "fitting_plan": terms(fitting)["name"] if fitting else None,
                           "fitting_plan_usd": fitting.usd if fitting else None,
                           "plan_source": plans[0].source_url if plans else ""}
    if fitting is not None:
        scale = break_even_scale(prices, traffic, fitting)
        base = volume if volume is not None else requests
        out["break_even"] = ({"plan": terms(fitting)["name"], "at": base * scale, "of": volume_label}
                             if scale is not None else None)
        out["cheaper"] = terms(fitting)["name"] if fitting.usd < payg else PAY_AS_YOU_GO
    else:
        out["break_even"] = None
        out["cheaper"] = PAY_AS_YOU_GO
    if sheet is None:
        return out
    if choice == PAY_AS_YOU_GO:
        _bill_payg(sheet, traffic)
        return out
    plan = plan_named(prices, choice)
    over = not fits(plan, requests, gb)
    sheet.add(f"cloudfront.plan.{choice.lower()}", 1, item=f"Flat-rate plan {choice} (one distribution)",
              note=(f"allowance {terms(plan)['requests']:,} requests and {terms(plan)['data_transfer_gb']:,} GB; "
                    + ("this workload is over it: no overage charge, but AWS may slow delivery or ask for a "
                       "larger plan" if over else "no overage charges")))
    out["over_allowance"] = over
    return out


def describe(summary: dict[str, Any]) -> str:
    """One sentence for the notes: the plan that fits, its price, pay-as-you-go, the break-even."""
    payg = summary["pay_as_you_go_usd"]
    if not summary["fitting_plan"]:
        return (f"No CloudFront flat-rate plan covers {summary['requests']:,.0f} requests and "
                f"{summary['data_transfer_gb']:,.0f} GB a month; pay-as-you-go costs {payg:,.2f} USD.")
    text = (f"CloudFront flat-rate plan that fits this workload: {summary['fitting_plan']} "
            f"({summary['fitting_plan_usd']:,.0f} USD a month) against {payg:,.2f} USD pay-as-you-go")
    be = summary.get("break_even")
    if not summary["fitting_plan_usd"]:
        text += "; the plan costs nothing as long as its allowance lasts"
    elif be:
        text += f"; the two cost the same at {be['at']:,.0f} {be['of']}"
    else:
        text += "; pay-as-you-go stays cheaper as long as the plan's allowance lasts"
    return text + "."


__all__ = ["PAY_AS_YOU_GO", "PLAN_CHOICES", "Traffic", "pricing_param", "bill_cloudfront", "describe", "payg_usd",
           "break_even_scale", "fits"]
