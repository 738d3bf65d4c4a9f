"""Running a case model: parameters, latency samples, costs, hit ratios and break-even curves.

A case model is ``patterns/<case>/model.py`` with

* ``PARAMS``: the workload inputs (:class:`app.core.params.Param`), with defaults, units and ranges;
* ``build(values, ctx) -> Plan``: the request classes (hops and caches), the cost sheet and
  the hit ratios for one configuration (toggles and workload together in ``values``);
* ``BREAK_EVEN``: which toggle to price against which volume.

``run`` resolves the values (unknown names and out-of-range values raise ``ParamError``
naming the valid ones), builds the plan, samples the latency of ``samples`` requests and
sweeps the break-even volumes.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core import format as fmt
from app.core.cases import Case, MissingPart, get_case, parts
from app.core.params import Param, ParamError, resolve
from app.engine.books import LatencyBook, PriceBook, load_latency_book, load_price_book
from app.engine.cache import HitModel
from app.engine.costs import CostSheet
from app.engine.paths import RequestClass, branches, percentiles, simulate, waterfall

EXECUTED, MODELLED, PUBLISHED = "executed", "modelled", "published"


@dataclass
class CacheInfo:
    name: str
    label: str
    hit_ratio: float
    basis: str                   # "executed" (measured in a run) or "modelled"
    model: str = ""
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"label": self.label, "hit_ratio": self.hit_ratio, "basis": self.basis, "model": self.model,
                **self.detail}


@dataclass
class BreakEven:
    """Price ``toggle`` on against off over a range of ``volume`` (a workload parameter)."""

    toggle: str
    volume: str
    title: str
    saves: str                        # what the option saves, in words
    on: Any = True
    off: Any = False
    points: int = 25


@dataclass(frozen=True)
class WhatIf:
    """The option a case's What if is about: B starts as A with ``toggle`` set to ``on``
    (or to ``off`` when A already has ``on``)."""

    toggle: str
    on: Any = True
    off: Any = False


def default_b(case: Case, values_a: Mapping[str, Any]) -> dict[str, Any]:
    """Configuration B as the What if page first shows it: A with the case's declared option changed."""
    spec = getattr(model_of(case), "WHATIF", None)
    if spec is None:
        return dict(values_a)
    return {**values_a, spec.toggle: spec.off if values_a.get(spec.toggle) == spec.on else spec.on}


@dataclass
class Context:
    prices: PriceBook
    latency: LatencyBook
    measured: Mapping[str, float] = field(default_factory=dict)
    caches: dict[str, CacheInfo] = field(default_factory=dict)

    def cache(self, name: str, label: str, model: Callable[[], HitModel] | float, **detail) -> float:
        """The hit ratio of cache ``name``: measured in a run when given, else modelled."""
        if name in self.measured:
            value = float(self.measured[name])
            self.caches[name] = CacheInfo(name, label, value, EXECUTED, "measured in a traffic run", detail)
            return value
        if callable(model):
            m = model()
            self.caches[name] = CacheInfo(name, label, m.hit_ratio, MODELLED, m.model,
                                          {**detail, "characteristic_time_s": None if math.isinf(m.t_c) else m.t_c})
            return m.hit_ratio
        self.caches[name] = CacheInfo(name, label, float(model), MODELLED, detail.pop("model", "assumed"), detail)
        return float(model)


@dataclass
class Plan:
    classes: list[RequestClass]
    costs: CostSheet
    typical: str = ""                                  # class whose waterfall is shown
    segments: list[RequestClass] = field(default_factory=list)   # sub-paths reported on their own
    facts: dict[str, Any] = field(default_factory=dict)          # other outputs (instances, delays, bytes)
    notes: list[str] = field(default_factory=list)


# -- parameters -----------------------------------------------------------------------------------
def model_of(case: Case):
    module = parts(case).model
    if module is None:
        raise MissingPart(f"case {case.id!r} has no latency and cost model (model.py): `diagram`, `params`, "
                          "`report` and, where it has a pipeline, `run` work for it")
    return module


def params_of(case: Case) -> list[Param]:
    """The case's toggles and its model's workload inputs (the toggles alone for a case without a model)."""
    module = parts(case).model
    return list(case.toggles) + list(module.PARAMS if module is not None else ())


def resolve_values(case: Case, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return resolve(params_of(case), given or {}, what=f"parameter for {case.id}")


def describe_params(case: Case) -> list[dict]:
    out = []
    toggles = {t.key for t in case.toggles}
    for p in params_of(case):
        d = p.describe()
        d["group"] = "toggle" if p.key in toggles else "workload"
        if p.step is not None:
            d["step"] = p.step
        out.append(d)
    return out


# -- running --------------------------------------------------------------------------------------
def build(case: Case, values: Mapping[str, Any], *, measured: Mapping[str, float] | None = None,
          prices: PriceBook | None = None, latency: LatencyBook | None = None) -> tuple[Plan, Context]:
    ctx = Context(prices or load_price_book(), latency or load_latency_book(), dict(measured or {}))
    plan = model_of(case).build(dict(values), ctx)
    return plan, ctx


def measured_ratios(measured: Mapping[str, Any]) -> dict[str, float]:
    """Hit ratios measured in a run (text, as typed, or numbers), each checked to be a number from 0 to 1."""
    return {name: Param(f"hit ratio {fmt.clip(name)}", "Measured hit ratio", "float", 0.0, "", min=0.0,
                        max=1.0).parse(value) for name, value in measured.items()}


def _check_measured(ctx: Context, measured: Mapping[str, float]) -> None:
    unknown = sorted(set(measured) - set(ctx.caches))
    if unknown:
        names = ", ".join(ctx.caches) or "none in this configuration"
        raise ParamError(f"unknown cache {', '.join(fmt.clip(u) for u in unknown)} for a measured hit ratio: "
                         f"caches are {names}")


def _mix(samples: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    parts = [samples[n] for n in names if n in samples]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def latency_report(plan: Plan, samples: int, seed: int) -> dict:
    sims = simulate(plan.classes, samples, seed)
    overall = _mix(sims, [c.name for c in plan.classes])
    groups: dict[str, list[str]] = {}
    for c in plan.classes:
        groups.setdefault(c.group or c.name, []).append(c.name)
    by_group = {g: percentiles(_mix(sims, names)) for g, names in groups.items()}
    seg = simulate(plan.segments, max(20_000, min(50_000, samples // 10)), seed + 1) if plan.segments else {}
    typical = next((c for c in plan.classes if c.name == plan.typical), None) or max(plan.classes,
                                                                                      key=lambda c: c.share)
    return {"latency_ms": percentiles(overall), "latency_by_group_ms": by_group,
            "segments_ms": {name: percentiles(x) for name, x in seg.items()},
            "waterfall": {"class": typical.name, "share": typical.share / (sum(c.share for c in plan.classes) or 1.0),
                          "hops": waterfall(typical), "paths": branches(typical)},
            "_samples": overall}


def break_even_curve(case: Case, values: Mapping[str, Any], spec: BreakEven, *,
                     prices: PriceBook | None = None, latency: LatencyBook | None = None) -> dict:
    params = {p.key: p for p in params_of(case)}
    vol = params[spec.volume]
    if vol.min is None or vol.max is None:
        raise ValueError(f"{spec.volume} has no range to sweep")
    lo, hi = float(vol.min), float(vol.max)
    xs = np.geomspace(lo, hi, spec.points)
    on: list[float] = []
    off: list[float] = []
    for x in xs:
        x_val = int(round(x)) if vol.kind == "int" else float(x)
        for flag, out in ((spec.on, on), (spec.off, off)):
            plan, _ = build(case, {**values, spec.toggle: flag, spec.volume: x_val}, prices=prices, latency=latency)
            out.append(plan.costs.total)
    on_a, off_a = np.array(on), np.array(off)
    diff = on_a - off_a
    crossings = []
    for i in range(len(xs) - 1):
        if diff[i] == 0:
            crossings.append(float(xs[i]))
        elif diff[i] * diff[i + 1] < 0:
            # interpolate in log volume
            f = diff[i] / (diff[i] - diff[i + 1])
            crossings.append(float(math.exp(math.log(xs[i]) + f * (math.log(xs[i + 1]) - math.log(xs[i])))))
    if diff[-1] < 0 <= diff[0]:
        verdict = "pays for itself above the break-even volume"
    elif diff[0] < 0 <= diff[-1]:
        verdict = "cheaper below the break-even volume only"
    elif np.all(diff < 0):
        verdict = "cheaper over the whole range"
    elif np.all(diff > 0):
        verdict = "costs more over the whole range"
    else:
        verdict = "the curves cross more than once"
    return {"toggle": spec.toggle, "title": spec.title, "saves": spec.saves, "volume": spec.volume,
            "volume_unit": vol.unit, "volume_label": vol.label, "on": spec.on, "off": spec.off,
            "volumes": [float(x) for x in xs], "cost_on_usd": [float(v) for v in on],
            "cost_off_usd": [float(v) for v in off], "break_even_volumes": crossings,
            "break_even_volume": crossings[0] if crossings else None, "verdict": verdict,
            "current_volume": float(values[spec.volume])}


def run(case_id: str | Case, given: Mapping[str, Any] | None = None, *, measured: Mapping[str, Any] | None = None,
        samples: int = 1_000_000, seed: int = 1, with_break_even: bool = True,
        break_even_toggles: tuple[str, ...] | None = None, break_even_points: int | None = None,
        with_latency_gain: bool = True, prices: PriceBook | None = None, latency: LatencyBook | None = None) -> dict:
    """Everything the CLI and the what-if page show for one configuration.

    ``break_even_toggles`` limits the sweeps to those toggles, ``break_even_points`` sets the
    number of volumes per sweep, ``with_latency_gain`` adds each option's latency gain (four more runs).
    ``measured`` hit ratios may be numbers or text as typed; each is checked to be a number from 0 to 1.
    """
    case = case_id if isinstance(case_id, Case) else get_case(case_id)
    values = resolve_values(case, given)
    measured = measured_ratios(measured or {})
    plan, ctx = build(case, values, measured=measured, prices=prices, latency=latency)
    if measured:
        _check_measured(ctx, measured)
    report = latency_report(plan, samples, seed)
    report.pop("_samples")
    out: dict[str, Any] = {
        "case": case.id,
        "values": values,
        "latency_ms": report["latency_ms"],
        "latency_by_group_ms": report["latency_by_group_ms"],
        "segments_ms": report["segments_ms"],
        "waterfall": report["waterfall"],
        "hit_ratio": {name: c.hit_ratio for name, c in ctx.caches.items()},
        "caches": {name: c.to_dict() for name, c in ctx.caches.items()},
        "monthly_cost_usd": plan.costs.total,
        "cost_breakdown": plan.costs.to_list(),
        "cost_by_service_usd": plan.costs.by_service(),
        "facts": plan.facts,
        "assumptions": _assumptions(plan, ctx),
        "notes": plan.notes,
        "samples": samples,
        "basis": {"latency": MODELLED, "cost": MODELLED,
                  "hit_ratio": EXECUTED if measured else MODELLED},
        "price_book": {"region": ctx.prices.region, "compiled": ctx.prices.compiled},
    }
    if with_break_even:
        specs = [s for s in getattr(model_of(case), "BREAK_EVEN", ())
                 if break_even_toggles is None or s.toggle in break_even_toggles]
        if break_even_points:
            specs = [BreakEven(**{**s.__dict__, "points": break_even_points}) for s in specs]
        out["break_even"] = [break_even_curve(case, values, s, prices=ctx.prices, latency=ctx.latency) for s in specs]
        if with_latency_gain:
            for be, spec in zip(out["break_even"], specs, strict=True):
                be["latency_gain_ms"] = latency_gain(case, values, spec, prices=ctx.prices, latency=ctx.latency)
    return out


def _assumptions(plan: Plan, ctx: Context) -> list[dict]:
    """Every number in this configuration that has no published source."""
    seen: dict[str, dict] = {}
    for rc in plan.classes + plan.segments:
        for st in rc.stages:
            for d in (getattr(st, "dist", None), getattr(st, "hit", None), getattr(st, "miss", None)):
                if d is not None and d.assumption and d.source not in seen:
                    seen[d.source] = {"what": f"latency: {st.label}",
                                      "value": f"p50 {fmt.duration(d.p50)}, p90 {fmt.duration(d.p90)}",
                                      "basis": d.source}
    for line in plan.costs.lines:
        if line.assumption:
            seen[f"price:{line.item}"] = {"what": f"price: {line.service}, {line.item}",
                                          "value": f"{line.unit_price_usd:g} USD per {line.unit}",
                                          "basis": "not in the gathered price sources"}
    return list(seen.values())


def latency_gain(case: Case, values: Mapping[str, Any], spec: BreakEven, *, samples: int = 50_000, seed: int = 1,
                 prices: PriceBook | None = None, latency: LatencyBook | None = None) -> dict:
    """p50 and p90 of every latency group with the option off minus on (positive: the option is faster).
    With the ``samples`` and ``seed`` of :func:`run`, the gain is exactly the difference of two runs'
    percentiles (each class draws from its own seeded stream), so a page that shows both says one figure."""
    reports = {}
    for flag in (spec.off, spec.on):
        plan, _ = build(case, {**values, spec.toggle: flag}, prices=prices, latency=latency)
        r = latency_report(plan, samples, seed)
        reports[flag] = {"all": r["latency_ms"], **r["latency_by_group_ms"], **r["segments_ms"]}
    out = {}
    for name in reports[spec.off]:
        if name in reports[spec.on]:
            a, b = reports[spec.off][name], reports[spec.on][name]
            out[name] = {"p50": round(a["p50"] - b["p50"], 3), "p90": round(a["p90"] - b["p90"], 3)}
    return out


__all__ = ["run", "build", "WhatIf", "default_b", "Plan", "Context", "CacheInfo", "BreakEven", "params_of",
           "resolve_values", "describe_params", "measured_ratios", "break_even_curve", "latency_gain", "latency_report",
           "model_of", "EXECUTED", "MODELLED", "PUBLISHED"]
