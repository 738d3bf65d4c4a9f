"""Software updates offloading: make an existing application cheaper and more scalable.

An application on EC2 behind a load balancer serves update files kept on EFS.
The files are static, so CloudFront can cache them at the edge without any
change to the application: the Auto Scaling group then only sees cache misses.

Pipeline steps the diagram can highlight: dns, edge, origin, alb, instance, files.
"""
from __future__ import annotations

from diagrams import Cluster
from diagrams.aws.compute import EC2Instance
from diagrams.aws.general import Users
from diagrams.aws.network import CloudFront, ElbApplicationLoadBalancer, Route53
from diagrams.aws.storage import ElasticFileSystemEFSFileSystem

from app.core.cases import Case, Component
from app.core.params import Toggle

TOGGLES = (
    Toggle("cloudfront", "CloudFront in front of the application", "bool", False,
           "Update downloads are cached at edge locations; the load balancer and instances only serve misses.",
           exam_point="CloudFront can cache any HTTP origin, including an ALB in front of EC2, with no change to "
                      "the application; static files at the edge cut origin load, scaling and data transfer "
                      "cost (transfer from AWS origins to CloudFront is not charged)."),
)

COMPONENTS = (
    Component("clients", "Installed\nclients", "Client",
              "Copies of the software checking for and downloading updates."),
    Component("dns", "Route 53", "Amazon Route 53", "updates.example.com, an alias record."),
    Component("cdn", "CloudFront distribution", "Amazon CloudFront",
              "Caches the update files at edge locations; forwards misses to the load balancer.", when="cloudfront"),
    Component("alb", "Application Load Balancer", "Elastic Load Balancing", "Spreads requests over the instances."),
    Component("app_a", "Update server (AZ a)", "Amazon EC2", "Unchanged application, in the Auto Scaling group."),
    Component("app_b", "Update server (AZ b)", "Amazon EC2", "Unchanged application, in the Auto Scaling group."),
    Component("efs", "Update files", "Amazon EFS", "The update packages, shared by every instance."),
)


def diagram(v, kit) -> None:
    # Every component is drawn in every configuration; one an option turns off is drawn as off.
    edge_on = v["cloudfront"]
    clients = Users("Installed\nclients", nodeid="clients")
    dns = Route53("Route 53\nupdates.\nexample.com", nodeid="dns")
    with kit.cluster("AWS edge locations", on=edge_on):
        cdn = CloudFront("CloudFront\ncaches the\nupdate files", nodeid="cdn")

    asg_label = ("Auto Scaling group - sized for cache misses" if edge_on
                 else "Auto Scaling group - scales with downloads")
    with Cluster("AWS Cloud - us-east-1"):
        with Cluster("VPC"):
            alb = ElbApplicationLoadBalancer("Application\nLoad\nBalancer", nodeid="alb")
            with Cluster(asg_label):
                # Declared b first: Graphviz stacks them bottom-up, so AZ a ends up on top.
                with Cluster("us-east-1b"):
                    app_b = EC2Instance("Update server", nodeid="app_b")
                with Cluster("us-east-1a"):
                    app_a = EC2Instance("Update server", nodeid="app_a")
            efs = ElasticFileSystemEFSFileSystem("EFS\nupdate files", nodeid="efs")

    clients >> kit.edge("resolve", step="dns") >> dns
    dns >> kit.edge("alias -> CloudFront", step="dns") >> cdn
    clients >> kit.edge("GET update\n(edge hit)", step="edge") >> cdn
    cdn >> kit.edge("cache miss only", step="origin") >> alb
    dns >> kit.edge("alias -> ALB", step="dns", on=not edge_on) >> alb
    clients >> kit.edge("GET update\n(every download)", step="alb", on=not edge_on) >> alb
    alb >> kit.edge("HTTP", step="instance") >> app_a
    alb >> kit.edge("HTTP", step="instance") >> app_b
    app_a >> kit.edge("read", step="files") >> efs
    app_b >> kit.edge("read", step="files") >> efs


CASE = Case(
    id="software-updates",
    title="Software updates offloading",
    tagline="Make an existing application cheaper and more scalable without changing it.",
    story=(
        "A company distributes updates for its software from an ordinary application: EC2 instances in an "
        "Auto Scaling group, spread over two Availability Zones behind an Application Load Balancer, reading "
        "the update files from a shared EFS file system. When a new version ships, every installed copy "
        "downloads it at about the same time, and the group has to scale out to serve the same few files "
        "over and over, paying for instances and for the bandwidth. The files do not change once published, "
        "so the fix needs no change to the application at all: put CloudFront in front of the load balancer "
        "and point the DNS name at the distribution. The edge serves the repeats, and the instances only "
        "see the first request for each file at each edge."
    ),
    takeaways=(
        "CloudFront is not only for S3: a load balancer or any HTTP server can be its origin, so an existing "
        "application gets edge caching without code changes.",
        "Static content (update files, installers, images) is the ideal cache candidate: long TTLs, "
        "almost every request a hit.",
        "The EC2 instances are not serverless, but CloudFront is and scales by itself; the Auto Scaling "
        "group only has to follow the cache misses, so it stays much smaller.",
        "Savings come from several places at once: fewer instances, less load on EFS, and lower data "
        "transfer cost, because AWS does not charge for transfer from an AWS origin to CloudFront.",
        "Availability improves too: a short origin outage is hidden for the files already cached at "
        "the edge.",
    ),
    components=COMPONENTS,
    toggles=TOGGLES,
    diagram=diagram,
)
