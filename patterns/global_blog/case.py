"""MyBlog.com: a global, read-heavy website.

Static files at the edge (CloudFront in front of S3), a posts API read far more
often than written (DAX, DynamoDB global tables), and two event-driven side
flows: a welcome email from the DynamoDB stream and thumbnails from S3 events.

Pipeline steps the diagram can highlight: static, edge, origin, api, lambda,
dax, dynamodb, replica_api, replica_lambda, replica_read, replication, stream,
welcome, ses, upload, s3_event, thumbnail, fanout.
"""
from __future__ import annotations

from diagrams import Cluster
from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb, DynamodbStreams
from diagrams.aws.engagement import SimpleEmailServiceSes
from diagrams.aws.general import Users
from diagrams.aws.integration import SimpleNotificationServiceSnsTopic, SimpleQueueServiceSqsQueue
from diagrams.aws.network import APIGateway, CloudFront, CloudFrontEdgeLocation
from diagrams.aws.storage import SimpleStorageServiceS3Bucket

from app.core.cases import Case, Component
from app.core.facts import GLOBAL_TABLES_MRSC, SES_SANDBOX
from app.core.params import Toggle

HOME_REGION = "us-east-1"
REPLICA_REGIONS = ("eu-west-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1")

TOGGLES = (
    Toggle("cloudfront", "CloudFront in front of the static site", "bool", True,
           "Pages, scripts and images are served from edge locations; S3 sees only cache misses.",
           exam_point="CloudFront caches static content at edge locations worldwide (default TTL 24 h when the "
                      "origin sends no Cache-Control); with origin access control the bucket stays private and "
                      "only the distribution may read it."),
    Toggle("global_tables", "DynamoDB global tables", "bool", False,
           "The posts table gets a replica in a second region, with its own API and function for nearby readers.",
           exam_point="Global tables replicate a DynamoDB table across regions, active-active: every replica "
                      "accepts reads and writes; in the default (eventually consistent) mode replication is "
                      "asynchronous and concurrent writes to one item are settled by last writer wins."),
    Toggle("replica_region", "Replica region", "choice", "eu-west-1",
           "Where the second group of readers lives, and the region of the replica when global tables are on.",
           choices=REPLICA_REGIONS,
           exam_point="Put the replica where the readers are: without it, every read from that region crosses "
                      "to us-east-1 and pays the inter-region round trip."),
    Toggle("dax", "DAX in front of DynamoDB", "bool", False,
           "The posts function reads through a DAX cluster in a VPC; hot posts come from memory.",
           exam_point="DAX is a write-through, in-memory cache for DynamoDB (item cache TTL 5 minutes by "
                      "default); it is regional and runs in a VPC, so each region needs its own cluster."),
    Toggle("transfer_acceleration", "S3 Transfer Acceleration", "bool", False,
           "Image uploads enter AWS at the nearest edge location and ride the AWS network to the bucket.",
           exam_point="Transfer Acceleration speeds long-distance uploads through CloudFront edge locations "
                      "(bucket-name.s3-accelerate.amazonaws.com); it works with pre-signed URLs and is only "
                      "charged when it actually makes the transfer faster."),
    Toggle("fanout", "Fan-out after the thumbnail", "choice", "none",
           "What the thumbnail bucket's event notification also feeds: nothing, an SNS topic or an SQS queue.",
           choices=("none", "sns", "sqs"),
           exam_point="S3 event notifications go to Lambda, SQS (standard queues, not FIFO), SNS or EventBridge; "
                      "to reach several consumers from one event, send it to SNS and subscribe them."),
)

COMPONENTS = (
    Component("users_home", "Readers near us-east-1", "Client", "Browse the blog and upload images."),
    Component("users_far", "Readers far from us-east-1", "Client",
              "Readers near the replica region: the ones global tables are for."),
    Component("cdn", "CloudFront distribution", "Amazon CloudFront",
              "Caches the static site at the edge; reads the bucket through origin access control.",
              when="cloudfront"),
    Component("accel", "Transfer Acceleration endpoint", "Amazon S3",
              "Edge location where accelerated uploads enter the AWS network.", when="transfer_acceleration"),
    Component("site", "Static site bucket", "Amazon S3", "HTML, CSS, JavaScript and images of the blog."),
    Component("api", "Blog API", "Amazon API Gateway", "REST API for posts, sign-up and upload URLs."),
    Component("lambda", "Posts function", "AWS Lambda",
              "Reads and writes posts and users; signs the pre-signed upload URLs."),
    Component("dax", "DAX cluster", "Amazon DynamoDB Accelerator", "In-memory read cache in the VPC.",
              when="dax"),
    Component("table", "Blog table", "Amazon DynamoDB", "Posts and users; stream enabled (new images)."),
    Component("replica_api", "Blog API (replica region)", "Amazon API Gateway",
              "The same API deployed near the far readers.", when="global_tables"),
    Component("replica_lambda", "Posts function (replica region)", "AWS Lambda",
              "Reads and writes the local replica.", when="global_tables"),
    Component("replica_table", "Blog table replica", "Amazon DynamoDB",
              "Replica of the global table in the second region.", when="global_tables"),
    Component("stream", "DynamoDB stream", "Amazon DynamoDB Streams",
              "Ordered log of item changes, kept 24 hours."),
    Component("welcome", "Welcome email function", "AWS Lambda",
              "Triggered by new user items; its role may call ses:SendEmail."),
    Component("ses", "Amazon SES", "Amazon SES",
              "Sends the welcome email from a verified address; in the SES sandbox only to verified recipients, "
              f"at most {SES_SANDBOX.value['max_per_24h']} messages a day, until production access is granted."),
    Component("uploads", "Uploads bucket", "Amazon S3", "Original images, written through pre-signed PUT URLs."),
    Component("thumb_fn", "Thumbnail function", "AWS Lambda", "Resizes each new image."),
    Component("thumbs", "Thumbnails bucket", "Amazon S3", "Resized images."),
    Component("topic", "SNS topic", "Amazon SNS", "Fans the new-thumbnail event out to subscribers.",
              when="fanout=sns"),
    Component("queue", "SQS queue", "Amazon SQS", "Buffers new-thumbnail events for a worker.",
              when="fanout=sqs"),
)


def diagram(v, kit) -> None:
    # Every component is drawn in every configuration; one an option turns off is drawn as off,
    # and a route an option replaces is laid out but not drawn, so nothing moves when an option flips.
    far = v["replica_region"]
    cloudfront, replicated, accelerated = v["cloudfront"], v["global_tables"], v["transfer_acceleration"]
    with Cluster("Users"):
        # room for two lines below the icon
        home = Users("Readers near\nus-east-1", nodeid="users_home", width="1.9", height="2.7")
        away = Users(f"Readers near\n{far}", nodeid="users_far", width="1.9", height="2.7")

    with kit.cluster("AWS edge locations", on=cloudfront or accelerated):
        cdn = CloudFront("CloudFront\nstatic site", nodeid="cdn")
        accel = CloudFrontEdgeLocation("S3 Transfer\nAcceleration\nedge\nendpoint", nodeid="accel")

    with Cluster(f"AWS Cloud - {HOME_REGION} (home)"):
        site = SimpleStorageServiceS3Bucket("Static site\nbucket", nodeid="site")
        api = APIGateway("Blog API", nodeid="api")
        fn, dax = kit.function_with_dax("Posts function", v["dax"])
        table = Dynamodb("Blog table\nposts + users", nodeid="table")
        with Cluster("Welcome email"):
            stream = DynamodbStreams("DynamoDB\nstream", nodeid="stream")
            welcome = Lambda("Welcome\nemail\nfunction", nodeid="welcome")
            ses = SimpleEmailServiceSes("Amazon SES", nodeid="ses")
        with Cluster("Thumbnails"):
            uploads = SimpleStorageServiceS3Bucket("Uploads\nbucket", nodeid="uploads")
            thumb_fn = Lambda("Thumbnail\nfunction", nodeid="thumb_fn")
            thumbs = SimpleStorageServiceS3Bucket("Thumbnails\nbucket", nodeid="thumbs")
            topic = SimpleNotificationServiceSnsTopic("SNS topic\nnew\nthumbnail", nodeid="topic")
            queue = SimpleQueueServiceSqsQueue("SQS queue\nnew\nthumbnail", nodeid="queue")

    with kit.cluster(f"AWS Cloud - {far} (replica)", on=replicated):
        r_api = APIGateway("Blog API", nodeid="replica_api")
        r_fn = Lambda("Posts function", nodeid="replica_lambda")
        replica = Dynamodb("Blog table\nreplica", nodeid="replica_table")

    # Static site.
    home >> kit.edge("pages from the\nnearest edge", step="edge") >> cdn
    away >> kit.edge("", step="edge") >> cdn
    cdn >> kit.edge("miss -> origin (OAC)", step="origin") >> site
    home >> kit.edge("pages", step="static", on=not cloudfront) >> site
    away >> kit.edge(f"pages from {far}\n(cross-region)", step="static", on=not cloudfront) >> site

    # Posts API.
    home >> kit.edge("REST", step="api") >> api
    away >> kit.edge("REST (nearest region)", step="replica_api") >> r_api
    away >> kit.edge(f"REST from {far}\n(cross-region)", step="api", on=not replicated) >> api
    api >> kit.edge("proxy", step="lambda") >> fn
    fn >> kit.edge("GetItem / Query", step="dax") >> dax
    dax >> kit.edge("miss / write-through", step="dynamodb") >> table
    fn >> kit.edge("GetItem / PutItem", step="dynamodb", on=not v["dax"]) >> table
    r_api >> kit.edge("proxy", step="replica_lambda") >> r_fn
    r_fn >> kit.edge("local reads", step="replica_read") >> replica
    both_ways = kit.edge("async replication\nboth ways", step="replication")
    both_ways.reverse = True
    table >> both_ways >> replica

    # Welcome email.
    table >> kit.edge("new user", step="stream", asynchronous=True) >> stream
    stream >> kit.edge("trigger", step="welcome", asynchronous=True) >> welcome
    welcome >> kit.edge("SendEmail", step="ses") >> ses

    # Thumbnails.
    home >> kit.edge("PUT image\npre-signed URL", step="upload") >> accel
    accel >> kit.edge("AWS backbone", step="upload") >> uploads
    home >> kit.edge("PUT image\npre-signed URL", step="upload", on=not accelerated) >> uploads
    uploads >> kit.edge("ObjectCreated", step="s3_event", asynchronous=True) >> thumb_fn
    thumb_fn >> kit.edge("PutObject\nthumbnail", step="thumbnail") >> thumbs
    thumbs >> kit.edge("ObjectCreated", step="fanout", asynchronous=True) >> topic
    thumbs >> kit.edge("ObjectCreated", step="fanout", asynchronous=True) >> queue


CASE = Case(
    id="global-blog",
    title="MyBlog.com",
    tagline="A global, read-heavy website with a welcome email and image thumbnails.",
    story=(
        "MyBlog.com is read all over the world and written far less often. Its pages, scripts and images "
        "are static files in S3; CloudFront serves them from edge locations near each reader, and only a "
        "cache miss travels back to the bucket. Posts and user accounts go through a REST API: API Gateway, "
        "a Lambda function and a DynamoDB table. DAX can answer the hot reads from memory, and a global "
        "table can keep a full replica in a second region so readers there stay local. Two side flows run "
        "on events rather than requests: a new user item on the table's stream triggers a function that "
        "sends a welcome email with SES, and an image uploaded straight to S3 with a pre-signed URL (over "
        "Transfer Acceleration if the uploader is far away) triggers a function that writes a thumbnail, "
        "whose own event can fan out further through SNS or SQS."
    ),
    takeaways=(
        "Static content belongs in S3 behind CloudFront: the edge absorbs the reads, and origin access "
        "control keeps the bucket itself private.",
        "DynamoDB global tables give each region a full, writable replica; replication is asynchronous, so "
        "a reader far from the writer may briefly see the old version (last writer wins on conflicts). "
        "Aurora Global Database is the relational alternative, with one writer region.",
        "A replica only helps if the compute that reads it runs in the same region: deploy the API and "
        "function there too. DAX clusters are regional and do not replicate.",
        "DynamoDB Streams turn writes into events: a Lambda function on the stream reacts to each new user, "
        "and its IAM role, not a stored key, is what allows it to send mail through SES.",
        "The welcome function deploys unchanged, but a new SES account starts in the sandbox: "
        + SES_SANDBOX.says[len("A new SES account is in the sandbox: "):].rstrip(".")
        + ".",
        "Global tables can also run with multi-Region strong consistency: it "
        + GLOBAL_TABLES_MRSC.says[len("Multi-Region strong consistency (GA 2025) "):].rstrip(".")
        + ", so readers never see an old version but writers pay in latency.",
        "Clients upload straight to S3 with a pre-signed URL, so no server handles the bytes; the URL "
        "carries the signer's permissions and expires (when signed with a role's temporary credentials, "
        "no later than those credentials).",
        "S3 event notifications can invoke Lambda directly or go to SQS or SNS; SNS is the way to give one "
        "event several consumers, SQS the way to buffer work for a consumer that may fall behind.",
    ),
    components=COMPONENTS,
    toggles=TOGGLES,
    diagram=diagram,
)
