"""template.yaml, the SAM template, generated from the same code deploy.sh and the local server use.

`python -m deploy.template > template.yaml` (`make template`); a test fails when
the committed file is stale. Generated rather than written by hand so that
the tables and indexes (app/layout.py), the environment, names and limits
(app/settings.py), the binary media types, public paths, CORS rules, bucket
notification and IAM actions (deploy/resources.py) exist once, whichever way
the service is deployed. The template then deploys unchanged on LocalStack
(`make deploy-stack`) and on AWS (`make deploy-aws`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from app import layout
from app.settings import BINARY_MEDIA_TYPES, PUBLIC_PATHS, SERVICE, SETTINGS, get_settings
from deploy import configuration, resources
from deploy.package import RUNTIME

BUCKET_NAME = "${AWS::StackName}-images-${AWS::AccountId}-${AWS::Region}"
# Named after the stack, not the function resource: the role (which the function needs) grants
# access to this log group, so naming it by the function would make a circle.
FUNCTION_NAME = "${AWS::StackName}-function"
LOG_GROUP = {"Fn::Sub": f"/aws/lambda/{FUNCTION_NAME}"}
TABLES = ("ImagesTable", "TagsTable", "IdempotencyTable")  # logical names, in layout.table_specs' order
# _auth_variables hands the function these, with the issuer and the sign-in page.
AUTH_SET = ("AUTH", "VISIBILITY", "API_CORS_ORIGINS")


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def join(*parts: Any) -> dict[str, Any]:
    """Parts joined; resources are referred to by Ref or GetAtt here, never inside Fn::Sub, which
    LocalStack's engine cannot resolve to a resource of the template."""
    return {"Fn::Join": ["", list(parts)]}


def arn(resource: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, "Arn"]}


def parameters() -> dict[str, Any]:
    """The settings' parameters (types, constraints and defaults from app/settings.py's table: CloudFormation
    refuses what the function would), and the template's own."""
    from_settings = {setting.parameter: configuration.parameter(setting) for setting in SETTINGS if setting.parameter}

    def number(default: int, description: str, minimum: int = 0) -> dict[str, Any]:
        return {"Type": "Number", "Default": default, "MinValue": minimum, "Description": description}

    return {
        **from_settings,
        "Architecture": {"Type": "String", "Default": "x86_64", "AllowedValues": ["x86_64", "arm64"]},
        "ReservedConcurrency": number(0, "Executions reserved for (and capping) the function; 0: none"),
        "LogRetentionDays": number(30, "Days the function's logs are kept", 1),
        "AlarmEmail": {
            "Type": "String",
            "Default": "",
            "Description": "Who is told when an alarm fires (empty: nobody)",
        },
    }


CONDITIONS = {
    "KeyRequired": {"Fn::Equals": [ref("Auth"), "api-key"]},
    "KeyNotRequired": {"Fn::Not": [{"Fn::Equals": [ref("Auth"), "api-key"]}]},
    "SignedIn": {"Fn::Equals": [ref("Auth"), "jwt"]},
    "HasReservedConcurrency": {"Fn::Not": [{"Fn::Equals": [ref("ReservedConcurrency"), 0]}]},
    "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]},
    "TracingActive": {"Fn::Equals": [ref("Tracing"), "Active"]},
}


def storage() -> dict[str, Any]:
    """The bucket (private, encrypted, CORS for the gallery, incoming uploads expire) and the tables."""
    rule = resources.bucket_cors()["CORSRules"][0]
    # S3's API and CloudFormation name two of the rule's fields differently.
    cors = {
        "ExposedHeaders" if k == "ExposeHeaders" else "MaxAge" if k == "MaxAgeSeconds" else k: v
        for k, v in rule.items()
    }
    bucket = {
        "Type": "AWS::S3::Bucket",
        "DependsOn": "S3InvokePermission",  # S3 checks it may invoke the function when the notification is set
        "Properties": {
            "BucketName": sub(BUCKET_NAME),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "CorsConfiguration": {"CorsRules": [{**cors, "AllowedOrigins": {"Fn::Split": [",", ref("CorsOrigins")]}}]},
            "LifecycleConfiguration": {
                "Rules": [
                    # A direct upload is processed within seconds; what is left a day later is a leftover.
                    {
                        "Id": "expire-incoming",
                        "Status": "Enabled",
                        "Prefix": layout.INCOMING_PREFIX,
                        "ExpirationInDays": 1,
                    },
                    {
                        "Id": "abort-multipart",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    },
                ]
            },
            "NotificationConfiguration": {"LambdaConfigurations": [_notification()]},
        },
    }
    tables = {}
    specs = resources.table_specs()
    ttl = resources.time_to_live()
    for logical, spec in zip(TABLES, specs, strict=True):
        properties = {key: value for key, value in spec.items() if key != "TableName"}  # CloudFormation names it
        properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
        if spec["TableName"] == ttl["TableName"]:
            properties["TimeToLiveSpecification"] = ttl["TimeToLiveSpecification"]
        tables[logical] = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
    return {"ImagesBucket": bucket, **tables}


def _notification() -> dict[str, Any]:
    configuration = resources.notification("")["LambdaFunctionConfigurations"][0]
    return {
        "Event": configuration["Events"][0],
        "Filter": {"S3Key": {"Rules": configuration["Filter"]["Key"]["FilterRules"]}},
        "Function": arn("Function"),
    }


def _auth_variables() -> dict[str, Any]:
    """The auth mode, and with Auth=jwt the Cognito user pool as the issuer and its app client as the audience."""
    settings = get_settings()

    def signed_in(value: Any) -> dict[str, Any]:
        return {"Fn::If": ["SignedIn", value, ref("AWS::NoValue")]}

    return {
        "AUTH": ref("Auth"),
        "VISIBILITY": ref("Visibility"),
        "API_CORS_ORIGINS": ref("ApiCorsOrigins"),
        "JWT_ISSUER": signed_in(join(sub("https://cognito-idp.${AWS::Region}.amazonaws.com/"), ref("UserPool"))),
        "JWT_AUDIENCE": signed_in(ref("UserPoolClient")),
        "JWT_USER_CLAIM": settings.jwt_user_claim,
        "JWT_ADMIN_CLAIM": settings.jwt_admin_claim,
        "JWT_ADMIN_GROUP": settings.jwt_admin_group,
        "SIGN_IN_URL": signed_in(
            join("https://", ref("UserPoolDomain"), sub(".auth.${AWS::Region}.amazoncognito.com"))
        ),
    }


def users() -> dict[str, Any]:
    """Auth=jwt: a Cognito user pool (users added by an admin), an app client for the gallery
    (authorization code with PKCE, no secret), its hosted sign-in domain, and the admin group."""
    gallery = join("https://", ref("Api"), sub(".execute-api.${AWS::Region}.amazonaws.com/"), ref("Stage"), "/")
    return {
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "Condition": "SignedIn",
            "Properties": {
                "UserPoolName": sub("${AWS::StackName}-users"),
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "Policies": {"PasswordPolicy": {"MinimumLength": 12}},
            },
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Condition": "SignedIn",
            "Properties": {
                "UserPoolId": ref("UserPool"),
                "GenerateSecret": False,
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["code"],
                "AllowedOAuthScopes": ["openid", "profile"],
                "SupportedIdentityProviders": ["COGNITO"],
                "CallbackURLs": [gallery],
                "LogoutURLs": [gallery],
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "IdTokenValidity": 60,
                "TokenValidityUnits": {"IdToken": "minutes"},
            },
        },
        "UserPoolDomain": {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Condition": "SignedIn",
            # Cognito's domain prefixes are global: the stack's name and the account make it unique.
            "Properties": {"UserPoolId": ref("UserPool"), "Domain": sub("${AWS::StackName}-${AWS::AccountId}")},
        },
        "AdminGroup": {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Condition": "SignedIn",
            "Properties": {"UserPoolId": ref("UserPool"), "GroupName": get_settings().jwt_admin_group},
        },
    }


def function() -> dict[str, Any]:
    """The Lambdalith: the zip deploy/package.py builds, the environment app/settings.py reads."""
    names = {
        "IMAGES_BUCKET": sub(BUCKET_NAME),
        "IMAGES_TABLE": ref("ImagesTable"),
        "TAGS_TABLE": ref("TagsTable"),
        "IDEMPOTENCY_TABLE": ref("IdempotencyTable"),
    }
    # Every setting the function reads that has a parameter: the parameter's value.
    limits = {s.name: ref(s.parameter) for s in SETTINGS if s.parameter and s.function and s.name not in AUTH_SET}
    variables = {**names, **limits, "POWERTOOLS_SERVICE_NAME": SERVICE, **_auth_variables()}
    return {
        "Function": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "FunctionName": sub(FUNCTION_NAME),
                "CodeUri": "build/lambda.zip",
                "Handler": "app.handler.lambda_handler",
                "Runtime": RUNTIME,
                "Architectures": [ref("Architecture")],
                "MemorySize": ref("FunctionMemory"),
                "Timeout": ref("FunctionTimeout"),
                "Tracing": ref("Tracing"),
                "Role": arn("FunctionRole"),
                "ReservedConcurrentExecutions": {
                    "Fn::If": ["HasReservedConcurrency", ref("ReservedConcurrency"), ref("AWS::NoValue")]
                },
                "Environment": {"Variables": variables},
                # S3's asynchronous invocations: two retries, then the event waits in a queue.
                "EventInvokeConfig": {
                    "MaximumRetryAttempts": 2,
                    "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": arn("FailedEvents")}},
                },
            },
        },
        "FunctionLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": LOG_GROUP, "RetentionInDays": ref("LogRetentionDays")},
        },
        "FailedEvents": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        "FunctionRole": _role(),
        "S3InvokePermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": ref("Function"),
                "Principal": "s3.amazonaws.com",
                "SourceArn": sub(f"arn:${{AWS::Partition}}:s3:::{BUCKET_NAME}"),
                "SourceAccount": ref("AWS::AccountId"),
            },
        },
    }


def _role() -> dict[str, Any]:
    bucket_arn = sub(f"arn:${{AWS::Partition}}:s3:::{BUCKET_NAME}")
    tables = [arn(logical) for logical in TABLES]
    indexes = [join(arn("ImagesTable"), "/index/*"), join(arn("TagsTable"), "/index/*")]
    log_group = join(sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"), LOG_GROUP, ":*")
    statements = [
        *resources.access_statements(bucket_arn, tables, indexes, [log_group]),
        {"Sid": "FailedEvents", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": arn("FailedEvents")},
        {
            "Fn::If": [
                "TracingActive",
                {
                    "Sid": "Traces",
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    "Resource": "*",
                },
                ref("AWS::NoValue"),
            ]
        },
    ]
    trust = resources.trust_policy()
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": trust,
            "Policies": [
                {"PolicyName": "access", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
            ],
        },
    }


def api() -> dict[str, Any]:
    """The REST API: ANY / and ANY /{proxy+} to the function, the public paths, binary media types, a stage."""
    methods: dict[str, Any] = {}
    resources_: dict[str, Any] = {
        "ProxyResource": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": ref("Api"),
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "{proxy+}",
            },
        }
    }
    methods["RootMethod"] = _method({"Fn::GetAtt": ["Api", "RootResourceId"]}, public=True)
    methods["ProxyMethod"] = _method(ref("ProxyResource"), public=False)
    # A browser's CORS preflight carries no key: it reaches the function, which answers it.
    methods["ProxyPreflightMethod"] = _method(ref("ProxyResource"), public=True, verb="OPTIONS")
    for path in PUBLIC_PATHS:
        if path == "/":
            continue
        logical = "Public" + "".join(part.capitalize() for part in path.strip("/").replace(".", "-").split("-"))
        resources_[f"{logical}Resource"] = {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": ref("Api"),
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": path.strip("/"),
            },
        }
        methods[f"{logical}Method"] = _method(ref(f"{logical}Resource"), public=True)
    rest_api = {
        "Type": "AWS::ApiGateway::RestApi",
        "Properties": {
            "Name": sub("${AWS::StackName}-api"),
            "BinaryMediaTypes": list(BINARY_MEDIA_TYPES),
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
        },
    }
    deployments = _deployments(sorted(methods), {"api": rest_api, "resources": resources_, "methods": methods})
    keyed, open_ = deployments  # the KeyRequired one, then the other
    stage = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {
            "RestApiId": ref("Api"),
            "DeploymentId": {"Fn::If": ["KeyRequired", ref(keyed), ref(open_)]},
            "StageName": ref("Stage"),
            "TracingEnabled": {"Fn::If": ["TracingActive", True, False]},
        },
    }
    permission = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ref("Function"),
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": join(
                sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"), ref("Api"), "/*"
            ),
        },
    }
    return {
        "Api": rest_api,
        **resources_,
        **methods,
        **deployments,
        "ApiStage": stage,
        "ApiInvokePermission": permission,
        **_api_key(),
    }


def _deployments(methods: list[str], shape: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation Deployment snapshots the API once, when it is created: a changed method or
    a switched key mode (Auth=api-key) would stay undeployed. So each deployment is named after what it
    deploys (a hash of the API's shape, and the key mode), and a change creates a new one."""
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:10]

    def deployment(condition: str) -> dict[str, Any]:
        return {
            "Type": "AWS::ApiGateway::Deployment",
            "Condition": condition,
            "DependsOn": methods,
            "Properties": {"RestApiId": ref("Api"), "Description": f"API shape {digest}, {condition}"},
        }

    return {
        f"ApiDeploymentKeyed{digest}": deployment("KeyRequired"),
        f"ApiDeploymentOpen{digest}": deployment("KeyNotRequired"),
    }


def _method(resource_id: Any, public: bool, verb: str = "ANY") -> dict[str, Any]:
    functions = sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/")
    uri = join(functions, arn("Function"), "/invocations")
    return {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": ref("Api"),
            "ResourceId": resource_id,
            "HttpMethod": verb,
            "AuthorizationType": "NONE",
            # The page, its assets and the documentation hold no data, and a browser cannot send a key to load them.
            "ApiKeyRequired": False if public else {"Fn::If": ["KeyRequired", True, False]},
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri},
        },
    }


def _api_key() -> dict[str, Any]:
    settings = get_settings()
    return {
        "UsagePlan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Condition": "KeyRequired",
            "DependsOn": "ApiStage",
            "Properties": {
                "UsagePlanName": sub(f"${{AWS::StackName}}-{settings.usage_plan_name}"),
                "ApiStages": [{"ApiId": ref("Api"), "Stage": ref("Stage")}],
                "Throttle": {"RateLimit": ref("ApiRateLimit"), "BurstLimit": ref("ApiBurstLimit")},
            },
        },
        "ApiKey": {
            "Type": "AWS::ApiGateway::ApiKey",
            "Condition": "KeyRequired",
            "Properties": {"Name": sub(f"${{AWS::StackName}}-{settings.api_key_name}"), "Enabled": True},
        },
        "UsagePlanKey": {
            "Type": "AWS::ApiGateway::UsagePlanKey",
            "Condition": "KeyRequired",
            "Properties": {"KeyId": ref("ApiKey"), "KeyType": "API_KEY", "UsagePlanId": ref("UsagePlan")},
        },
    }


def alarms() -> dict[str, Any]:
    """Told by email (AlarmEmail) of 5xx answers, throttled invocations, and uploads whose processing failed."""

    def alarm(
        description: str, namespace: str, metric: str, dimensions: list[Any], statistic: str = "Sum"
    ) -> dict[str, Any]:
        return {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": description,
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": dimensions,
                "Statistic": statistic,
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [ref("Alarms")],
                "OKActions": [ref("Alarms")],
            },
        }

    function_dimension = [{"Name": "FunctionName", "Value": ref("Function")}]
    api_dimensions = [
        {"Name": "ApiName", "Value": sub("${AWS::StackName}-api")},
        {"Name": "Stage", "Value": ref("Stage")},
    ]
    return {
        # Not encrypted with SNS's AWS-managed key: its key policy does not let CloudWatch publish.
        "Alarms": {"Type": "AWS::SNS::Topic"},
        "AlarmSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": ref("Alarms"), "Protocol": "email", "Endpoint": ref("AlarmEmail")},
        },
        "ServerErrorsAlarm": alarm("The API answered 5xx", "AWS/ApiGateway", "5XXError", api_dimensions),
        "ThrottlesAlarm": alarm("Invocations were throttled", "AWS/Lambda", "Throttles", function_dimension),
        "FunctionErrorsAlarm": alarm(
            "The function failed (a crash, a timeout)", "AWS/Lambda", "Errors", function_dimension
        ),
        "FailedEventsAlarm": alarm(
            "A direct upload's processing failed three times; its event waits in the FailedEvents queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedEvents", "QueueName"]}}],
            "Maximum",
        ),
    }


def outputs() -> dict[str, Any]:
    def output(value: Any, description: str, condition: str | None = None) -> dict[str, Any]:
        return {"Value": value, "Description": description, **({"Condition": condition} if condition else {})}

    return {
        "BaseUrl": output(
            join("https://", ref("Api"), sub(".execute-api.${AWS::Region}.${AWS::URLSuffix}/"), ref("Stage")),
            "The API (on AWS)",
        ),
        "ApiId": output(ref("Api"), "The REST API's id"),
        "Stage": output(ref("Stage"), "Its stage"),
        "Bucket": output(sub(BUCKET_NAME), "IMAGES_BUCKET"),
        "ImagesTable": output(ref("ImagesTable"), "IMAGES_TABLE"),
        "TagsTable": output(ref("TagsTable"), "TAGS_TABLE"),
        "IdempotencyTable": output(ref("IdempotencyTable"), "IDEMPOTENCY_TABLE"),
        "FunctionName": output(ref("Function"), "The function"),
        "FailedEventsQueue": output(ref("FailedEvents"), "Where S3 events whose processing failed wait"),
        "ApiKeyId": output(ref("ApiKey"), "aws apigateway get-api-key --include-value --api-key <id>", "KeyRequired"),
        "UserPoolId": output(ref("UserPool"), "aws cognito-idp admin-create-user --user-pool-id <id> ...", "SignedIn"),
        "SignInUrl": output(_auth_variables()["SIGN_IN_URL"]["Fn::If"][1], "The hosted sign-in", "SignedIn"),
    }


def template() -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Image API: one Lambda behind an API Gateway REST API, images in S3, metadata in DynamoDB "
        "(generated by python -m deploy.template; do not edit by hand)",
        "Parameters": parameters(),
        "Conditions": CONDITIONS,
        "Resources": {**storage(), **function(), **api(), **users(), **alarms()},
        "Outputs": outputs(),
    }


def render() -> str:
    header = "# Generated by `python -m deploy.template` (make template) from app/ and deploy/: do not edit.\n"
    import yaml  # PyYAML (the dev venv's): deploy/stack.sh reads parameters() with any Python

    return header + str(yaml.safe_dump(template(), sort_keys=False, width=120, allow_unicode=True))


if __name__ == "__main__":
    sys.stdout.write(render())
    sys.exit(0)
