"""Target tracking for an EC2 Auto Scaling group, evaluated here because moto stores policies but never runs them.

:class:`TargetTracking` reads a ``TargetTrackingScaling`` policy of a group back from
the backend (``describe_policies``) and, each time :meth:`evaluate` is given the
metric of one period, decides the capacity as AWS describes target tracking:

- the desired capacity is proportional to the metric: ``ceil(in_service * metric /
  target)`` for a per-target metric such as ``ALBRequestCountPerTarget`` (the metric is
  the period's average per in-service instance);
- it scales out as soon as one period is above the target, and scales in only after
  ``scale_in_periods`` consecutive periods below it (AWS scales in gradually and more
  conservatively than out), never below the group's minimum or above its maximum;
- ``DisableScaleIn`` in the policy disables scaling in.

The decision is applied with ``set_desired_capacity`` in the backend (or by ``apply(n)``,
for a group whose targets must also be registered or deregistered), so the group
launches or terminates instances there. Each decision is returned with its reason.

Differences from AWS: periods are whatever the caller counts (a run compresses them);
there are no CloudWatch alarms, no instance warm-up and no cooldown beyond the
scale-in periods; one policy per group is evaluated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from app.runtime.trace import Trace


@dataclass
class Decision:
    period: int
    metric: float            # the period's metric per in-service instance
    in_service: int
    desired: int
    action: str              # "scale out", "scale in", "hold"
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "metric": round(self.metric, 2), "in_service": self.in_service,
                "desired": self.desired, "action": self.action, "reason": self.reason}


class TargetTracking:
    """The target-tracking policy of one group, read from the backend (see the module docstring)."""

    def __init__(self, autoscaling_client, group: str, *, scale_in_periods: int = 3, trace: Trace | None = None,
                 apply: Callable[[int], Any] | None = None) -> None:
        self.client = autoscaling_client
        self.apply = apply
        self.group = group
        self.scale_in_periods = scale_in_periods
        self.trace = trace if trace is not None else Trace()
        policies = [p for p in self.client.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]
                    if p.get("PolicyType") == "TargetTrackingScaling"]
        if not policies:
            raise ValueError(f"group {group!r} has no target-tracking policy")
        config = policies[0]["TargetTrackingConfiguration"]
        self.policy_name = policies[0]["PolicyName"]
        self.target = float(config["TargetValue"])
        self.metric_name = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "custom")
        self.scale_in_disabled = bool(config.get("DisableScaleIn"))
        described = self.client.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
        self.min_size, self.max_size = described["MinSize"], described["MaxSize"]
        self.decisions: list[Decision] = []
        self._below = 0

    def evaluate(self, metric_per_instance: float, in_service: int) -> Decision:
        """Decide the capacity for one period's metric and set it in the backend."""
        period = len(self.decisions) + 1
        in_service = max(in_service, 1)
        wanted = max(self.min_size, min(self.max_size, math.ceil(in_service * metric_per_instance / self.target)))
        if wanted > in_service:
            self._below = 0
            action, desired = "scale out", wanted
            reason = (f"{self.metric_name} {metric_per_instance:,.0f} per instance is above the target "
                      f"{self.target:,.0f}: {in_service} -> {desired} instances")
        elif wanted < in_service and not self.scale_in_disabled:
            self._below += 1
            if self._below >= self.scale_in_periods:
                self._below = 0
                action, desired = "scale in", max(wanted, in_service - max(1, (in_service - wanted) // 2))
                reason = (f"{self.metric_name} below the target {self.target:,.0f} for {self.scale_in_periods} "
                          f"periods: {in_service} -> {desired} instances")
            else:
                action, desired = "hold", in_service
                reason = f"below the target for {self._below} of {self.scale_in_periods} periods before scaling in"
        else:
            self._below = 0
            action, desired = "hold", in_service
            reason = (f"{self.metric_name} {metric_per_instance:,.0f} per instance is within the target "
                      f"{self.target:,.0f}" if wanted == in_service else "at the group's bounds")
        if desired != in_service:
            with self.trace.span("autoscaling", "SetDesiredCapacity", self.group) as span:
                span.detail.update(desired=desired, reason=reason)
                if self.apply is not None:
                    self.apply(desired)
                else:
                    self.client.set_desired_capacity(AutoScalingGroupName=self.group, DesiredCapacity=desired,
                                                     HonorCooldown=False)
        decision = Decision(period, metric_per_instance, in_service, desired, action, reason)
        self.decisions.append(decision)
        return decision
