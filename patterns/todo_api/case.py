"""MyTodoList: a mobile app whose users keep todos and files.

The security flow exam questions return to most (Cognito -> STS temporary
credentials -> one S3 prefix per user) and the two read caches of a REST API
(DAX in front of DynamoDB, the API Gateway stage cache in front of Lambda).
"""
from __future__ import annotations

from diagrams import Cluster
from diagrams.aws.database import Dynamodb, ElasticacheCacheNode
from diagrams.aws.general import MobileClient
from diagrams.aws.network import APIGateway
from diagrams.aws.security import Cognito, IdentityAndAccessManagementIamAWSSts
from diagrams.aws.storage import SimpleStorageServiceS3Bucket

from app.core.cases import Case, Component
from app.core.params import Toggle

TOGGLES = (
    Toggle("dax", "DAX in front of DynamoDB", "bool", False,
           "Reads go through a DynamoDB Accelerator cluster: repeated GetItem calls are answered from memory.",
           exam_point="DAX caches DynamoDB reads with microsecond latency and no code change beyond the client; "
                      "it runs inside a VPC, and the Lambda function must be attached to that VPC."),
    Toggle("api_cache", "API Gateway caching", "bool", False,
           "The REST stage caches GET responses, so repeated requests never reach Lambda.",
           exam_point="API Gateway caching is per stage, keyed by method, path and chosen parameters, TTL 300 s by "
                      "default (0 to 3600 s); it saves Lambda and DynamoDB work for a per-hour cache charge."),
)

COMPONENTS = (
    Component("app", "Mobile app", "Client", "Signs users in and calls the API with their token."),
    Component("user_pool", "Cognito user pool", "Amazon Cognito", "Sign-up, sign-in, issues the ID token (a JWT)."),
    Component("identity_pool", "Cognito identity pool", "Amazon Cognito",
              "Trades the ID token for a stable identity id and an IAM role."),
    Component("sts", "STS", "AWS STS", "Hands out temporary credentials for that role."),
    Component("bucket", "S3 bucket, one prefix per user", "Amazon S3",
              "Files; the role's policy only allows the caller's own prefix."),
    Component("api", "API Gateway (REST)", "Amazon API Gateway",
              "Todo CRUD behind a Cognito authorizer."),
    Component("api_cache", "Stage cache", "Amazon API Gateway", "Answers repeated GETs without Lambda.",
              when="api_cache"),
    Component("lambda", "Todo function", "AWS Lambda", "Reads and writes todos."),
    Component("dax", "DAX cluster", "Amazon DynamoDB Accelerator", "Item and query cache in the VPC.",
              when="dax"),
    Component("table", "Todos table", "Amazon DynamoDB", "Partition key user, sort key todo id."),
)


def diagram(v, kit) -> None:
    # Every component is drawn in every configuration; one an option turns off is drawn as off.
    app = MobileClient("Mobile app", nodeid="app")
    with Cluster("AWS Cloud - us-east-1"):
        with Cluster("Identity"):
            pool = Cognito("Cognito\nuser pool", nodeid="user_pool")
            ids = Cognito("Cognito\nidentity pool", nodeid="identity_pool")
            sts = IdentityAndAccessManagementIamAWSSts("STS", nodeid="sts")
        bucket = SimpleStorageServiceS3Bucket("S3 bucket\nprefix per user", nodeid="bucket")
        with Cluster("API Gateway - stage prod"):
            api = APIGateway("REST API", nodeid="api")
            cache = ElasticacheCacheNode("Stage cache\nGET, TTL 300 s", nodeid="api_cache")
        fn, dax = kit.function_with_dax("Todo function", v["dax"])
        table = Dynamodb("Todos table", nodeid="table")

    app >> kit.edge("1. sign in", step="signin") >> pool
    app >> kit.edge("2. ID token -> identity", step="identity") >> ids
    ids >> kit.edge("3. role credentials", step="sts") >> sts
    app >> kit.edge("4. temp credentials\n${sub}/*", step="s3") >> bucket
    app >> kit.edge("REST + JWT", step="api") >> api
    api >> kit.edge("verify JWT", style="dotted", step="authorizer") >> pool
    api >> kit.edge("cached GET", step="api_cache") >> cache
    api >> kit.edge("proxy", step="lambda") >> fn
    fn >> kit.edge("GetItem / Query", step="dax") >> dax
    dax >> kit.edge("miss / write-through", step="dynamodb") >> table
    fn >> kit.edge("GetItem / PutItem", step="dynamodb", on=not v["dax"]) >> table


CASE = Case(
    id="todo-api",
    title="MyTodoList",
    tagline="A mobile app whose users keep todos and files, each user seeing only their own.",
    story=(
        "MyTodoList is a mobile app: people sign up, keep a list of todos and attach files to them. "
        "Users sign in with Amazon Cognito. To upload a file the app does not go through a server: "
        "the Cognito identity pool turns the user's ID token into short-lived AWS credentials from STS, "
        "and with them the app writes straight into S3, but only under that user's own prefix. "
        "The todos themselves go through a REST API: API Gateway checks the token, a Lambda function "
        "reads or writes DynamoDB. Reads far outnumber writes, so the question is where to cache them: "
        "at the database with DAX, at the API with the stage cache, or both."
    ),
    takeaways=(
        "Cognito user pools authenticate; identity pools plus STS turn that into temporary AWS credentials, "
        "so a mobile client can call S3 (or DynamoDB, Lambda) directly without long-lived keys.",
        "One bucket serves every user safely: the role's policy limits each caller to the prefix "
        "${cognito-identity.amazonaws.com:sub}/, substituted per request.",
        "DAX caches DynamoDB reads in memory: milliseconds become microseconds for hot items, "
        "with no change to the data model. It lives in a VPC and is billed per node-hour.",
        "API Gateway caching answers repeated GETs at the API layer, so neither Lambda nor DynamoDB is "
        "called; it is billed per cache-hour and a TTL decides how stale an answer may be.",
        "Cache at the layer closest to the user that still serves correct data: the API cache skips the "
        "most work, DAX also helps requests the API cache cannot (POSTs that read, varied queries).",
    ),
    components=COMPONENTS,
    toggles=TOGGLES,
    diagram=diagram,
)
