"""MyVideo: content for premium users only.

Two small serverless apps behind one API: premium registration, and a
generator of short-lived signed URLs for the videos. The content bucket is
private; with CloudFront it is reachable only through the distribution
(origin access control), without it viewers fetch it with S3 pre-signed URLs.

Pipeline steps the diagram can highlight: signin, api, authorizer, api_cache,
register, register_db, signed_url, premium_check, sign, download, origin.
"""
from __future__ import annotations

from diagrams import Cluster
from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb, ElasticacheCacheNode
from diagrams.aws.general import Users
from diagrams.aws.network import APIGateway, CloudFront
from diagrams.aws.security import Cognito, SecretsManager
from diagrams.aws.storage import SimpleStorageServiceS3BucketWithObjects

from app.core.cases import Case, Component
from app.core.params import Toggle

TOGGLES = (
    Toggle("cloudfront", "CloudFront signed URLs", "bool", True,
           "On: videos are served by CloudFront with signed URLs and the bucket is private behind origin access "
           "control. Off: the generator hands out S3 pre-signed URLs and viewers download from the bucket's region.",
           exam_point="For premium content served worldwide, use CloudFront signed URLs (or signed cookies) with "
                      "the bucket locked to the distribution by origin access control; S3 pre-signed URLs work "
                      "but send every viewer to one region with no edge cache."),
    Toggle("api_cache", "API Gateway caching", "bool", False,
           "The stage caches the signed-URL responses, keyed by the caller's token and the video id.",
           exam_point="API Gateway caching keys on the method, path and the parameters or headers you choose; "
                      "a per-user response may only be cached with the caller's identity in the key and a TTL "
                      "shorter than the URL's lifetime (default TTL 300 s, maximum 3600 s)."),
)

COMPONENTS = (
    Component("viewers", "Viewers", "Client", "Web and TV apps of subscribers."),
    Component("user_pool", "Cognito user pool", "Amazon Cognito", "Sign-in; issues the ID token the API checks."),
    Component("api", "MyVideo API", "Amazon API Gateway",
              "REST API with a Cognito authorizer: POST /premium, GET /videos/{id}/url."),
    Component("api_cache", "Stage cache", "Amazon API Gateway",
              "Caches signed-URL answers per caller and video.", when="api_cache"),
    Component("register_fn", "Premium registration", "AWS Lambda", "Records a user as premium after payment."),
    Component("signer_fn", "Signed URL generator", "AWS Lambda",
              "Checks the caller is premium, then signs a short-lived URL for the video."),
    Component("premium_table", "Premium users table", "Amazon DynamoDB", "One item per premium user."),
    Component("signing_key", "Signing private key", "AWS Secrets Manager",
              "Private half of the key in the distribution's trusted key group.", when="cloudfront"),
    Component("cdn", "CloudFront distribution", "Amazon CloudFront",
              "Serves the videos from the edge; only accepts signed URLs.", when="cloudfront"),
    Component("content", "Content bucket", "Amazon S3", "The videos; private, never public."),
)


def diagram(v, kit) -> None:
    # Every component is drawn in every configuration; one an option turns off is drawn as off.
    cloudfront = v["cloudfront"]
    viewers = Users("Viewers", nodeid="viewers")
    with kit.cluster("AWS edge locations", on=cloudfront):
        cdn = CloudFront("CloudFront\nsigned URLs\nonly", nodeid="cdn")

    with Cluster("AWS Cloud - us-east-1"):
        pool = Cognito("Cognito\nuser pool", nodeid="user_pool")
        with Cluster("API Gateway - stage prod"):
            api = APIGateway("MyVideo API\nCognito\nauthorizer", nodeid="api")
            cache = ElasticacheCacheNode("Stage cache\nkey: token\n+ video id", nodeid="api_cache")
        with Cluster("App 1 - premium registration"):
            register = Lambda("Premium\nregistration", nodeid="register_fn")
        with Cluster("App 2 - signed URL generator"):
            signer = Lambda("Signed URL\ngenerator", nodeid="signer_fn")
            key = SecretsManager("Private key\nof the trusted\nkey group", nodeid="signing_key")
        table = Dynamodb("Premium\nusers table", nodeid="premium_table")
        bucket_label = "Content\nbucket\nprivate, OAC" if cloudfront else "Content\nbucket\nprivate"
        content = SimpleStorageServiceS3BucketWithObjects(bucket_label, nodeid="content")

    viewers >> kit.edge("1. sign in", step="signin") >> pool
    viewers >> kit.edge("2. REST + ID token", step="api") >> api
    api >> kit.edge("verify token", step="authorizer", style="dotted") >> pool
    api >> kit.edge("POST /premium", step="register") >> register
    register >> kit.edge("PutItem", step="register_db") >> table
    api >> kit.edge("GET /videos/{id}/url", step="signed_url") >> signer
    signer >> kit.edge("GetItem: premium?", step="premium_check") >> table
    api >> kit.edge("cached GET", step="api_cache", constraint="false") >> cache
    signer >> kit.edge("sign policy", step="sign") >> key
    viewers >> kit.edge("3. GET video\nCloudFront signed URL", step="download") >> cdn
    cdn >> kit.edge("miss -> origin\nOAC (SigV4)", step="origin") >> content
    signer >> kit.edge("S3 pre-signed URL\n(role credentials)", step="sign", style="dashed", on=not cloudfront) \
        >> content
    viewers >> kit.edge("3. GET video, S3 pre-signed URL", step="download", on=not cloudfront) >> content


CASE = Case(
    id="paid-content",
    title="MyVideo",
    tagline="Videos that only premium subscribers can watch, delivered worldwide.",
    story=(
        "MyVideo sells a premium subscription. Users sign in with Cognito, and one API Gateway fronts two "
        "small serverless apps. The first registers a user as premium in a DynamoDB table once they have "
        "paid. The second is asked for a video: it checks that table and, for a premium user, returns a "
        "signed URL that expires after a short time. The videos sit in a private S3 bucket that nobody can "
        "read directly: CloudFront is the only way in, through origin access control, and it only accepts "
        "requests whose URL carries a valid signature from a key in its trusted key group. Switch CloudFront "
        "off to see the alternative the exam contrasts it with: S3 pre-signed URLs, which also protect the "
        "content but send every viewer to the bucket's one region."
    ),
    takeaways=(
        "Cognito authenticates; a DynamoDB table of premium users decides authorization for the content, "
        "and the API's Cognito authorizer keeps anonymous callers out of both apps.",
        "Origin access control lets only the CloudFront distribution read the bucket (the bucket policy "
        "names the distribution); it replaces the older origin access identity.",
        "CloudFront signed URLs are signed with a private key whose public key is in a trusted key group of "
        "the distribution; keep the private key in Secrets Manager and give only the generator access.",
        "Signed URLs suit one file each; for a video made of many segments (HLS, DASH), signed cookies "
        "grant access to the whole set at once.",
        "S3 pre-signed URLs inherit the signer's IAM permissions and expire (at most 7 days with "
        "Signature Version 4, sooner when signed with temporary credentials); they work, but give no edge "
        "caching for a global audience.",
        "Caching the URL generator at API Gateway is only safe per caller: the cache key must include the "
        "token, and the TTL must be shorter than the URL lifetime.",
    ),
    components=COMPONENTS,
    toggles=TOGGLES,
    diagram=diagram,
)
