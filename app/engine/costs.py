"""Monthly cost as line items: quantity (in the price's unit) x unit price.

Every line names its service, what is counted, the quantity in the unit the price is
quoted for ("1M requests", "node-hour", "GB"), the unit price, the product and the
price's source. Tiered prices become one line per tier touched, so each line still
multiplies out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.books import Price, PriceBook

HOURS_PER_MONTH = 730.0          # AWS pricing pages' convention (8,760 h / 12)
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0


@dataclass(frozen=True)
class LineItem:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price_usd: float
    source: str
    assumption: bool = False
    region: str = ""
    note: str = ""

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_price_usd

    def to_dict(self) -> dict:
        return {"service": self.service, "item": self.item, "quantity": self.quantity, "unit": self.unit,
                "unit_price_usd": self.unit_price_usd, "monthly_usd": self.monthly_usd, "source": self.source,
                "assumption": self.assumption, "region": self.region, "note": self.note}


@dataclass
class CostSheet:
    prices: PriceBook
    lines: list[LineItem] = field(default_factory=list)

    def add(self, key: str, count: float, *, item: str | None = None, region: str = "", note: str = "",
            tiered: bool = True) -> None:
        """Bill ``count`` units (requests, GB, hours... as the price counts them, not divided by ``per``)."""
        price: Price = self.prices[key]
        if count <= 0:
            return
        label = item or price.item
        if region:
            label = f"{label} ({region})"
        if tiered and price.tiers:
            done = 0.0
            for i, tier in enumerate(price.tiers):
                cap = tier["up_to"]
                upto = count if cap is None else min(count, float(cap))
                part = upto - done
                if part <= 0:
                    break
                tier_label = label if len(price.tiers) == 1 or (i == 0 and count <= (cap or count)) else \
                    f"{label}, tier {i + 1}"
                self.lines.append(LineItem(price.service, tier_label, part / price.per, price.unit_label,
                                           float(tier["usd"]), price.source_url, price.assumption, region, note))
                done = upto
                if cap is None or count <= cap:
                    break
            return
        self.lines.append(LineItem(price.service, label, count / price.per, price.unit_label, price.usd,
                                   price.source_url, price.assumption, region, note))

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = out.get(line.service, 0.0) + line.monthly_usd
        return out

    def to_list(self) -> list[dict]:
        return [line.to_dict() for line in self.lines]


__all__ = ["LineItem", "CostSheet", "HOURS_PER_MONTH", "SECONDS_PER_MONTH"]
