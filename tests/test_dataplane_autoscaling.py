"""Target tracking evaluated over a policy and a group held in moto: scale out at once, scale in slowly."""
from __future__ import annotations

import pytest

from app.runtime.dataplanes.autoscaling import TargetTracking


@pytest.fixture
def group(runtime_session):
    ec2, asg = runtime_session.clients.client("ec2"), runtime_session.clients.client("autoscaling")
    name = runtime_session.name("updates")
    ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-12c6146b",
                                                                            "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": name},
                                  MinSize=1, MaxSize=6, DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="requests-per-target",
                           PolicyType="TargetTrackingScaling", TargetTrackingConfiguration={
                               "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget",
                                                                 "ResourceLabel": "app/lb/1/targetgroup/tg/2"},
                               "TargetValue": 1000.0})
    return asg, name


def _instances(asg, name) -> int:
    return len(asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"])


def test_scales_out_in_proportion_to_the_metric_and_in_after_quiet_periods(group):
    asg, name = group
    tracking = TargetTracking(asg, name, scale_in_periods=2)
    assert tracking.target == 1000 and tracking.metric_name == "ALBRequestCountPerTarget"
    out = tracking.evaluate(2500, in_service=1)
    assert (out.action, out.desired) == ("scale out", 3) and _instances(asg, name) == 3
    capped = tracking.evaluate(9000, in_service=3)
    assert capped.desired == 6 and _instances(asg, name) == 6          # the group's maximum
    first_quiet = tracking.evaluate(100, in_service=6)
    assert first_quiet.action == "hold" and _instances(asg, name) == 6
    scaled_in = tracking.evaluate(100, in_service=6)
    assert scaled_in.action == "scale in" and 1 <= scaled_in.desired < 6 and _instances(asg, name) == scaled_in.desired


def test_a_group_without_a_target_tracking_policy_is_refused(runtime_session, group):
    asg, name = group
    asg.delete_policy(AutoScalingGroupName=name, PolicyName="requests-per-target")
    with pytest.raises(ValueError, match="no target-tracking policy"):
        TargetTracking(asg, name)
