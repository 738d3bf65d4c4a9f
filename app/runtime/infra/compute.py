"""Compute behind a load balancer: a VPC, an ALB, EC2 Auto Scaling groups and ECS services on Fargate."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from app.core import facts
from app.runtime.infra.base import Builders


@dataclass
class Network:
    """A VPC with one subnet in each of two Availability Zones and a security group for web traffic."""

    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str
    zones: list[str]


@dataclass
class LoadBalancedGroup:
    """An ALB forwarding to an EC2 Auto Scaling group whose instances run ``app`` (in-process)."""

    name: str
    dns_name: str
    load_balancer_arn: str
    target_group_arn: str
    listener_arn: str
    group_name: str
    launch_template_id: str
    network: Network
    plane: Any = field(repr=False)
    servers: dict = field(repr=False)
    _asg: Any = field(repr=False)

    def request(self, method: str, path: str, headers: Mapping[str, Any] | None = None, body: Any = None):
        """A request to the ALB's listener: an ``HttpResponse`` (status, body, headers, served_by)."""
        return self.plane.request(method, path, headers, body)

    def in_service(self) -> list[str]:
        """Instances the group has InService that the target group reports healthy, read from the backend."""
        group = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[self.group_name])["AutoScalingGroups"][0]
        running = {i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"}
        return sorted(t for t, state in self.plane.target_health().items() if state == "healthy" and t in running)

    def set_desired(self, n: int) -> list[str]:
        """Set the group's desired capacity: the backend launches (and registers) or terminates instances;
        terminated instances are deregistered from the target group, as the group does on scale-in.
        Returns the instances in service afterwards."""
        self._asg.set_desired_capacity(AutoScalingGroupName=self.group_name, DesiredCapacity=n, HonorCooldown=False)
        group = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[self.group_name])["AutoScalingGroups"][0]
        members = {i["InstanceId"] for i in group["Instances"]}
        gone = [t for t in self.plane.target_health() if t not in members]
        if gone:
            self.plane.client.deregister_targets(TargetGroupArn=self.target_group_arn,
                                                 Targets=[{"Id": t} for t in gone])
        self.plane.refresh()
        return self.in_service()

    def stats(self) -> dict:
        """Requests and bytes each target's server answered, and the balancer's counters."""
        return {"balancer": dict(self.plane.counters),
                "instances": {t: s.stats() for t, s in sorted(self.servers.items())}}


@dataclass
class ContainerService:
    """An ECS service (cluster, task definition, service) behind an ALB; each task's container runs
    ``app`` in-process and is registered by its IP in the ALB's target group."""

    name: str
    region: str
    dns_name: str
    cluster_arn: str
    service_arn: str
    task_definition_arn: str
    target_group_arn: str
    task_ips: list[str]
    plane: Any = field(repr=False)
    servers: dict = field(repr=False)

    def request(self, method: str, path: str, headers: Mapping[str, Any] | None = None, body: Any = None):
        return self.plane.request(method, path, headers, body)

    def stats(self) -> dict:
        return {"balancer": dict(self.plane.counters),
                "tasks": {t: s.stats() for t, s in sorted(self.servers.items())}}


class ComputeBuilders(Builders):
    """Builders of networks, load balancers, Auto Scaling groups and ECS services."""

    def network(self, base: str, *, cidr: str = "10.0.0.0/16", port: int = 80, region: str | None = None) -> Network:
        """A VPC with a subnet in each of two Availability Zones and a security group open on ``port``."""
        ec2 = self._client("ec2", region)
        tags = self._ec2_tags(base)
        vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[tags("vpc")])["Vpc"]["VpcId"]
        zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
        prefix = cidr.split(".")[:2]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=".".join(prefix + [str(i), "0/24"]), AvailabilityZone=zone,
                                     TagSpecifications=[tags("subnet")])["Subnet"]["SubnetId"]
                   for i, zone in enumerate(zones)]
        sg = ec2.create_security_group(GroupName=self.ctx.name(f"{base}-web"), Description=f"{base} web traffic",
                                       VpcId=vpc, TagSpecifications=[tags("security-group")])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        return Network(vpc, subnets, sg, zones)

    def _balancer(self, elbv2, lb: dict, tg: dict, app: Callable):
        """The ALB's data plane and the servers on its targets (made on first request), each running ``app``
        with the run's clients bound, as an instance or task role gives a server its credentials."""
        from app.runtime.clients import bound
        from app.runtime.dataplanes.elb import LoadBalancerPlane, WebServer

        clients, servers = self.session.clients, {}

        def served(request, server):
            with bound(clients):
                return app(request, server)

        def server_for(target: str) -> WebServer:
            if target not in servers:
                servers[target] = WebServer(target, served)
            return servers[target]
        plane = LoadBalancerPlane(elbv2, tg["TargetGroupArn"], server_for, name=lb["LoadBalancerName"],
                                  trace=self.session.trace, clock=self.ctx.clock, region=elbv2.meta.region_name,
                                  faults=lambda: self.session.faults)
        return plane, servers

    def _ec2_tags(self, base: str) -> Callable[[str], dict]:
        tags = [{"Key": k, "Value": v} for k, v in {**self.session.tags, "Name": self.ctx.name(base)}.items()]
        return lambda kind: {"ResourceType": kind, "Tags": tags}

    def alb(self, base: str, network: Network, *, target_type: str = "instance", port: int = 80,
            health_path: str = "/health", region: str | None = None) -> tuple[dict, dict, str]:
        """An internet-facing ALB with a target group and an HTTP listener forwarding to it:
        (load balancer, target group, listener ARN)."""
        elb = self._client("elbv2", region)
        name = self.ctx.name(base)[:32].rstrip("-")
        lb = elb.create_load_balancer(Name=name, Subnets=network.subnet_ids, SecurityGroups=[network.security_group_id],
                                      Scheme="internet-facing", Type="application")["LoadBalancers"][0]
        tg = elb.create_target_group(Name=self.ctx.name(f"{base}-tg")[:32].rstrip("-"), Protocol="HTTP", Port=port,
                                     VpcId=network.vpc_id, TargetType=target_type, HealthCheckPath=health_path,
                                     HealthCheckIntervalSeconds=facts.ALB_HEALTH_INTERVAL_S.value,
                                     HealthyThresholdCount=facts.ALB_HEALTHY_THRESHOLD.value)["TargetGroups"][0]
        listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        return lb, tg, listener["Listeners"][0]["ListenerArn"]

    def load_balanced_group(self, base: str, app: Callable, *, desired: int = 2, max_size: int = 4, min_size: int = 0,
                            instance_type: str = "t3.micro", health_path: str = "/health",
                            network: Network | None = None) -> LoadBalancedGroup:
        """An ALB in front of an EC2 Auto Scaling group (launch template, two subnets) whose instances
        the backend launches and registers as targets; each instance's web server is ``app(request,
        server)`` run in-process (:mod:`app.runtime.dataplanes.elb`)."""
        network = network or self.network(base)
        ec2, asg = self._client("ec2"), self._client("autoscaling")
        lb, tg, listener = self.alb(base, network, health_path=health_path)
        image = _amazon_linux_image(ec2)
        tags = self._ec2_tags(base)
        template = ec2.create_launch_template(
            LaunchTemplateName=self.ctx.name(f"{base}-lt"), TagSpecifications=[tags("launch-template")],
            LaunchTemplateData={"ImageId": image, "InstanceType": instance_type,
                                "SecurityGroupIds": [network.security_group_id],
                                "TagSpecifications": [tags("instance")]})["LaunchTemplate"]
        group = self.ctx.name(f"{base}-asg")
        asg.create_auto_scaling_group(
            AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"],
                                                        "Version": "$Latest"},
            MinSize=min_size, MaxSize=max_size, DesiredCapacity=desired, VPCZoneIdentifier=",".join(network.subnet_ids),
            TargetGroupARNs=[tg["TargetGroupArn"]], HealthCheckType="ELB", HealthCheckGracePeriod=0)
        plane, servers = self._balancer(self._client("elbv2"), lb, tg, app)
        handle = LoadBalancedGroup(lb["LoadBalancerName"], lb["DNSName"], lb["LoadBalancerArn"], tg["TargetGroupArn"],
                                   listener, group, template["LaunchTemplateId"], network, plane, servers, asg)
        plane.refresh()
        self.ctx.deployed.update({f"{base}_instances": desired, f"{base}_instance_type": instance_type,
                                  f"{base}_load_balancers": 1})
        return handle

    def container_service(self, base: str, app: Callable, *, tasks: int = 2, region: str | None = None,
                          image: str = "public.ecr.aws/docker/library/python:3.11-slim", port: int = 8080,
                          cidr: str = "10.0.0.0/16") -> ContainerService:
        """An ECS cluster, a Fargate task definition and a service of ``tasks`` tasks behind an ALB (IP
        targets). moto's ECS starts no tasks for a service, so each task's network interface is created in
        the service's subnets and its IP registered in the target group, as the ECS scheduler does; the
        container is ``app(request, server)`` run in-process (:mod:`app.runtime.dataplanes.elb`)."""
        region = region or self.session.region
        network = self.network(base, cidr=cidr, port=port, region=region)
        lb, tg, _ = self.alb(base, network, target_type="ip", port=port, region=region)
        ecs, ec2 = self._client("ecs", region), self._client("ec2", region)
        cluster = ecs.create_cluster(clusterName=self.ctx.name(base))["cluster"]["clusterArn"]
        task_def = ecs.register_task_definition(
            family=self.ctx.name(base), networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[{"name": base, "image": image, "essential": True, "cpu": 256,
                                                 "memory": 512, "portMappings": [{"containerPort": port}]}],
        )["taskDefinition"]["taskDefinitionArn"]
        service = ecs.create_service(
            cluster=cluster, serviceName=self.ctx.name(base), taskDefinition=task_def, desiredCount=tasks,
            launchType="FARGATE", loadBalancers=[{"targetGroupArn": tg["TargetGroupArn"], "containerName": base,
                                                  "containerPort": port}],
            networkConfiguration={"awsvpcConfiguration": {"subnets": network.subnet_ids, "assignPublicIp": "DISABLED",
                                                          "securityGroups": [network.security_group_id]}})["service"]
        ips = [ec2.create_network_interface(SubnetId=network.subnet_ids[i % len(network.subnet_ids)],
                                            Groups=[network.security_group_id], Description=f"{base} task {i + 1}",
                                            )["NetworkInterface"]["PrivateIpAddress"] for i in range(tasks)]
        elb = self._client("elbv2", region)
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": ip, "Port": port} for ip in ips])
        plane, servers = self._balancer(elb, lb, tg, app)
        plane.refresh()
        self.ctx.deployed[f"{base}_tasks"] = self.ctx.deployed.get(f"{base}_tasks", 0) + tasks
        return ContainerService(lb["LoadBalancerName"], region, lb["DNSName"], cluster, service["serviceArn"], task_def,
                                tg["TargetGroupArn"], ips, plane, servers)


def _amazon_linux_image(ec2) -> str:
    """The newest Amazon Linux 2023 x86_64 image the backend lists (what an AMI lookup by name finds)."""
    images = ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["al2023-ami-2023*-x86_64"]}, {"Name": "state", "Values": ["available"]}])["Images"]
    if not images:
        images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"]
    if not images:
        raise LookupError("the backend lists no Amazon Linux image to launch instances from")
    return max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"]
