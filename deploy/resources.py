"""What deploy.sh creates, described once, in Python (standard library only).

deploy.sh calls `python3 -m deploy.resources <command>` for anything that is
data rather than a CLI call: the names and limits from app.settings, the
table definition from app.layout, the IAM policies, and the zip. That keeps
deploy.sh, the local server and the Lambda reading the same source.

    check                    exit 2, naming it, when any setting in the environment is bad (app/settings.py)
    env                      shell assignments of the names and settings deploy.sh needs
    table-specs              every table as "<name> <CreateTable JSON>", one per line
    time-to-live             UpdateTimeToLive JSON: idempotency records expire on their own
    missing-indexes          reads DescribeTable JSON on stdin, prints one UpdateTable JSON per missing index
    retired-indexes          the same, one per index of an earlier release to drop (after make migrate)
    function-env [PUBLIC_S3_ENDPOINT]
                             the function's environment (JSON for --environment)
    bucket-cors              the bucket's CORS rules (browsers POST direct uploads to it)
    notification FUNCTION_ARN
                             the bucket notification that sends direct uploads to the function
    trust-policy             the Lambda role's trust policy
    role-policy REGION ACCOUNT FUNCTION
                             the least-privilege policy of the Lambda role
    binary-media-types       the REST API's binary media types, one per line
    public-paths             paths that need no API key, one per line
    usage BASE_URL AWS_CLI [KEY_SOURCE]
                             the curl and inspection commands printed after a deploy
    code-sha256 ZIP          the zip's digest as Lambda states a function's CodeSha256
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import sys
from typing import Any

from app import layout
from app.errors import ACCEPTED_NAMES
from app.setting_rules import ConfigError
from app.settings import BINARY_MEDIA_TYPES, DEV_ISSUER, PUBLIC_PATHS, SERVICE, SETTINGS, get_settings
from deploy.package import RUNTIME

# Request bodies of these types reach the Lambda base64-encoded, byte for byte
# (API Gateway's binaryMediaTypes; the local server applies the same list).


def service_env() -> dict[str, str]:
    """The names and limits the Lambda reads, as environment variables: every setting the table in
    app/settings.py says deploy.sh passes, with this machine's value (the default where unset)."""
    settings = get_settings()
    passed = {setting.name: setting.text(settings) for setting in SETTINGS if setting.passed and setting.function}
    return {**{name: value for name, value in passed.items() if value}, **auth_env()}


def auth_env() -> dict[str, str]:
    """AUTH=jwt: the issuer the function trusts; the dev issuer's (made on this machine) unless JWT_ISSUER says."""
    settings = get_settings()
    if settings.auth != "jwt":
        return {}
    if settings.jwt_issuer == DEV_ISSUER:
        from deploy import dev_issuer  # PyJWT and cryptography: only in this mode

        return dev_issuer.function_env()
    named = {"JWT_ISSUER": settings.jwt_issuer, "JWT_AUDIENCE": settings.jwt_audience}
    if settings.jwt_jwks_url:
        named["JWT_JWKS_URL"] = settings.jwt_jwks_url
    return named


def names() -> dict[str, str]:
    """What deploy.sh names what it creates (app/settings.py; each can be set in the environment)."""
    settings = get_settings()
    return {
        "FUNCTION_NAME": settings.function_name,
        "API_NAME": settings.api_name,
        "ROLE_NAME": settings.role_name,
        "POLICY_NAME": f"{settings.function_name}-access",
        "STAGE": settings.stage,
        "STACK_NAME": settings.stack_name,
        "USAGE_PLAN_NAME": settings.usage_plan_name,
        "API_KEY_NAME": settings.api_key_name,
        "API_RATE_LIMIT": str(settings.api_rate_limit),
        "API_BURST_LIMIT": str(settings.api_burst_limit),
        "INCOMING_PREFIX": layout.INCOMING_PREFIX,
        "RUNTIME": RUNTIME,
    }


def shell_env() -> str:
    variables = {**names(), **service_env()}
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in variables.items())


def function_env(public_s3_endpoint: str = "") -> dict[str, Any]:
    """The Lambda's environment: the host's names and limits, plus where users reach S3."""
    variables = {**service_env(), "POWERTOOLS_SERVICE_NAME": SERVICE}
    if public_s3_endpoint:
        variables["PUBLIC_S3_ENDPOINT"] = public_s3_endpoint
    return {"Variables": variables}


def table_specs() -> list[dict[str, Any]]:
    settings = get_settings()
    return layout.table_specs(settings.table, settings.tags_table, settings.idempotency_table)


def time_to_live() -> dict[str, Any]:
    return layout.time_to_live(get_settings().idempotency_table)


def missing_indexes(description: dict[str, Any]) -> list[dict[str, Any]]:
    """UpdateTable requests that add the indexes the spec has and the live table lacks (one per call)."""
    table = description["Table"]
    have = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    spec = next(spec for spec in table_specs() if spec["TableName"] == table["TableName"])
    attributes = spec["AttributeDefinitions"]
    return [
        {
            "TableName": table["TableName"],
            "AttributeDefinitions": attributes,
            "GlobalSecondaryIndexUpdates": [{"Create": index}],
        }
        for index in spec.get("GlobalSecondaryIndexes", [])
        if index["IndexName"] not in have
    ]


def retired_indexes(description: dict[str, Any]) -> list[dict[str, Any]]:
    """UpdateTable requests that drop indexes an earlier release made and this one no longer reads."""
    table = description["Table"]
    have = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    return [
        {"TableName": table["TableName"], "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": name}}]}
        for name in layout.RETIRED_INDEXES
        if name in have
    ]


def bucket_cors() -> dict[str, Any]:
    """Browsers POST direct uploads to the bucket and read images and thumbnails from it."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": list(get_settings().bucket_cors_origins),
                "AllowedMethods": ["GET", "HEAD", "POST"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag", "Location"],
                "MaxAgeSeconds": 3000,
            }
        ]
    }


def notification(function_arn: str) -> dict[str, Any]:
    """ObjectCreated under the incoming prefix invokes the function, which processes the upload."""
    return {
        "LambdaFunctionConfigurations": [
            {
                "Id": "process-direct-uploads",
                "LambdaFunctionArn": function_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": layout.INCOMING_PREFIX}]}},
            }
        ]
    }


def trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


# What the function's code calls, as IAM actions (tests/unit/test_template.py reads the code to check it).
OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
# HeadObject and GetObject of a missing key answer 404 only with ListBucket (403 otherwise).
BUCKET_ACTIONS = ["s3:ListBucket"]
ROW_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def access_statements(bucket_arn: Any, table_arns: list[Any], index_arns: list[Any], log_arns: list[Any]) -> list[Any]:
    """The function's permissions: only this bucket, these tables and their indexes, its own logs.

    ARNs are strings (deploy.sh) or CloudFormation expressions (the template).
    """
    objects = (
        {"Fn::Sub": ["${Bucket}/*", {"Bucket": bucket_arn}]} if isinstance(bucket_arn, dict) else f"{bucket_arn}/*"
    )
    return [
        {"Sid": "Objects", "Effect": "Allow", "Action": OBJECT_ACTIONS, "Resource": objects},
        {"Sid": "Bucket", "Effect": "Allow", "Action": BUCKET_ACTIONS, "Resource": bucket_arn},
        {"Sid": "Rows", "Effect": "Allow", "Action": ROW_ACTIONS, "Resource": [*table_arns, *index_arns]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogGroup", *LOG_ACTIONS], "Resource": log_arns},
    ]


def role_policy(region: str, account: str, function: str) -> dict[str, Any]:
    """deploy.sh's policy for the function's role."""
    settings = get_settings()
    table_arns = [f"arn:aws:dynamodb:{region}:{account}:table/{spec['TableName']}" for spec in table_specs()]
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function}"
    statements = access_statements(
        f"arn:aws:s3:::{settings.bucket}", table_arns, [f"{arn}/index/*" for arn in table_arns],
        [log_group, f"{log_group}:*"],
    )  # fmt: skip
    return {"Version": "2012-10-17", "Statement": statements}


def provision(s3: Any, dynamodb: Any) -> None:
    """Create the bucket and tables with boto3 clients, as deploy.sh does with the CLI.

    For endpoints that start empty: the local server's embedded backend and the tests.
    """
    settings = get_settings()
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if settings.bucket not in existing:
        s3.create_bucket(Bucket=settings.bucket)
    s3.put_bucket_cors(Bucket=settings.bucket, CORSConfiguration=bucket_cors())
    tables = set(dynamodb.list_tables().get("TableNames", []))
    for spec in table_specs():
        if spec["TableName"] not in tables:
            dynamodb.create_table(**spec)
            dynamodb.get_waiter("table_exists").wait(TableName=spec["TableName"])
    ttl = time_to_live()
    described = dynamodb.describe_time_to_live(TableName=ttl["TableName"])["TimeToLiveDescription"]
    if described.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(**ttl)


# The README's "Try it" block, but its BASE line: a test holds them equal, and usage() prints these.
ID_OF = """python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'"""
TRY_IT = (
    """curl -s -w '\\n' -F user=alice -F description="first image" -F tags=demo -F file=@tests/data/sample.png"""
    " $BASE/upload",
    """curl -s -w '\\n' "$BASE/list?limit=10\"""",
    f"ID=$(curl -s -F user=alice -F file=@tests/data/sample.png $BASE/upload | {ID_OF})",
    "curl -s -w '\\n' $BASE/view/$ID",
    """curl -s -L -o variant.webp "$BASE/images/$ID/variant?w=256&format=webp\"""",
    """curl -s -w '\\n' "$BASE/v1/images?user_id=alice\"""",
    "curl -s -w '\\n' -X DELETE $BASE/delete/$ID",
)


def usage(base_url: str, key_source: str = "", aws_cli: str = "") -> str:
    """The commands to try a running API, printed by deploy.sh and by the local server alike: the
    README's Try it (TRY_IT), with the credentials the deployment needs, and how to look inside.

    `key_source` is shell text that yields the API key (e.g. `$(cat build/api_key)`),
    never the key itself, so that these lines can go to logs. `aws_cli` (on AWS: `aws`) prints the
    two commands make inspect runs, for a deployment make inspect does not find (it looks for the
    local server, else LocalStack).
    """
    settings = get_settings()
    setup = [f"BASE={base_url}"]
    headers = ""
    if key_source:
        setup.append(f"KEY={key_source}")
        headers += ' -H "x-api-key: $KEY"'
    if settings.auth == "jwt":  # signed-in users: a dev issuer's token for alice (docs/api.md: Sign-in)
        setup.append("TOKEN=$(make -s token USER=alice)")
        headers += ' -H "Authorization: Bearer $TOKEN"'
    lines = [*setup, *(line.replace("curl -s", f"curl -s{headers}", 1) for line in TRY_IT)]
    body = "".join(f"  {line}\n" for line in lines)
    look = "  make inspect\n"
    if aws_cli:
        look = f"  {aws_cli} s3 ls s3://{settings.bucket} --recursive\n"
        look += f"  {aws_cli} dynamodb scan --table-name {settings.table}\n"
    return f"""Try it (from the repository's folder; any {ACCEPTED_NAMES} works as the file):
{body}  Gallery: open $BASE/ in a browser. API: $BASE/swagger and $BASE/openapi.json

Look inside the bucket and the table (from the repository's folder, in any shell):
{look}"""


def code_sha256(zip_path: str) -> str:
    """Base64 of the zip's SHA-256, as GetFunction's CodeSha256: the zip is reproducible (deploy/package.py),
    so an unchanged digest means the function already runs this code and need not be sent again."""
    with open(zip_path, "rb") as archive:
        return base64.b64encode(hashlib.sha256(archive.read()).digest()).decode()


def main(argv: list[str]) -> int:
    try:
        return _run(argv)
    except ConfigError as exc:  # a bad setting: refused before deploy.sh changes anything
        print(f"deploy.sh: {exc}; nothing was changed", file=sys.stderr)
        return 2


def _run(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "check":
        get_settings()
    elif command == "env":
        print(shell_env(), end="")
    elif command == "table-specs":
        for spec in table_specs():
            print(spec["TableName"], json.dumps(spec))
    elif command == "time-to-live":
        print(json.dumps(time_to_live()))
    elif command == "missing-indexes":
        for request in missing_indexes(json.load(sys.stdin)):
            print(json.dumps(request))
    elif command == "retired-indexes":
        for request in retired_indexes(json.load(sys.stdin)):
            print(json.dumps(request))
    elif command == "function-env" and len(args) <= 1:
        print(json.dumps(function_env(*args)))
    elif command == "bucket-cors":
        print(json.dumps(bucket_cors()))
    elif command == "notification" and len(args) == 1:
        print(json.dumps(notification(args[0])))
    elif command == "trust-policy":
        print(json.dumps(trust_policy()))
    elif command == "role-policy" and len(args) == 3:
        print(json.dumps(role_policy(*args)))
    elif command == "public-paths":
        print("\n".join(PUBLIC_PATHS))
    elif command == "binary-media-types":
        print("\n".join(BINARY_MEDIA_TYPES))
    elif command == "usage" and len(args) in (2, 3):  # BASE_URL AWS_CLI KEY_SOURCE (AWS_CLI "": make inspect)
        print(usage(args[0], args[2] if len(args) == 3 else "", aws_cli=args[1]), end="")
    elif command == "code-sha256" and len(args) == 1:
        print(code_sha256(args[0]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
