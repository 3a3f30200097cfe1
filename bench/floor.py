"""The floor: a Lambda that answers a constant behind the same kind of REST API, on the same LocalStack.

No implementation of a route can be faster than this: API Gateway, the Lambda
invocation and the HTTP round trip, with no work in between. The benchmark
reports each route of the real API as "ms over the floor" for its method and
body. The floor's function and API are made for the run and deleted after it.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

from app.settings import SERVICE
from deploy.endpoints import LOCALSTACK
from deploy.package import RUNTIME

NAME = f"{SERVICE}-floor"
HANDLER = 'def handler(event, context):\n    return {"statusCode": 200, "body": "{}"}\n'


def localstack_session() -> boto3.Session:
    """A session for LocalStack's control APIs (test credentials unless the environment has others)."""
    return boto3.Session(
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("floor.py", HANDLER)
    return buffer.getvalue()


@contextmanager
def floor_api() -> Iterator[str]:
    """The base URL of the floor's REST API on LocalStack, for the duration of the block."""
    session = localstack_session()
    lambdas = session.client("lambda", endpoint_url=LOCALSTACK)
    apigateway = session.client("apigateway", endpoint_url=LOCALSTACK)
    iam = session.client("iam", endpoint_url=LOCALSTACK)
    role = iam.create_role(RoleName=NAME, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = lambdas.create_function(
        FunctionName=NAME, Runtime=RUNTIME, Role=role, Handler="floor.handler", Code={"ZipFile": _zip()}
    )["FunctionArn"]
    lambdas.get_waiter("function_active_v2").wait(FunctionName=NAME)
    api = apigateway.create_rest_api(name=NAME)["id"]
    try:
        root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
        proxy = apigateway.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
        apigateway.put_method(restApiId=api, resourceId=proxy, httpMethod="ANY", authorizationType="NONE")
        uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations"
        apigateway.put_integration(
            restApiId=api, resourceId=proxy, httpMethod="ANY", type="AWS_PROXY", integrationHttpMethod="POST", uri=uri
        )
        apigateway.create_deployment(restApiId=api, stageName="floor")
        time.sleep(1)
        yield f"{LOCALSTACK}/_aws/execute-api/{api}/floor"
    finally:
        apigateway.delete_rest_api(restApiId=api)
        lambdas.delete_function(FunctionName=NAME)
        iam.delete_role(RoleName=NAME)
