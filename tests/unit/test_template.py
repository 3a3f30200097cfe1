"""template.yaml: generated from the code, and agreeing with it on every table, index, variable,
binary media type and IAM action; and carrying the production defaults that cannot run here."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import layout
from app.settings import BINARY_MEDIA_TYPES, BY_NAME, PUBLIC_PATHS, SETTINGS, default_text, get_settings
from deploy import configuration, resources, template

ROOT = Path(__file__).parents[2]
COMMITTED = ROOT / "template.yaml"
TEMPLATE: dict[str, Any] = yaml.safe_load(COMMITTED.read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTION = RESOURCES["Function"]["Properties"]

# What each boto3 call the code makes needs, in IAM actions.
ACTIONS = {
    ("s3", "put_object"): {"s3:PutObject"},
    ("s3", "get_object"): {"s3:GetObject"},
    ("s3", "head_object"): {"s3:GetObject", "s3:ListBucket"},  # a missing key is 404 only with ListBucket
    ("s3", "delete_object"): {"s3:DeleteObject"},
    ("s3", "delete_objects"): {"s3:DeleteObject"},  # S3 checks DeleteObject for each key
    ("s3", "generate_presigned_post"): {"s3:PutObject"},
    ("s3", "generate_presigned_url"): {"s3:GetObject"},  # of get_object only (checked below)
    ("s3", "get_paginator"): {"s3:ListBucket"},  # list_objects_v2
    ("dynamodb", "put_item"): {"dynamodb:PutItem"},
    ("dynamodb", "get_item"): {"dynamodb:GetItem"},
    ("dynamodb", "delete_item"): {"dynamodb:DeleteItem"},
    ("dynamodb", "update_item"): {"dynamodb:UpdateItem"},
    ("dynamodb", "query"): {"dynamodb:Query"},
    ("dynamodb", "get_paginator"): {"dynamodb:Query"},
    ("dynamodb", "transact_write_items"): {"dynamodb:PutItem", "dynamodb:DeleteItem"},  # its Put and Delete items
}
CLIENTS = {"s3_client": "s3", "presign_client": "s3", "dynamodb_client": "dynamodb"}


def calls_in_the_code() -> set[tuple[str, str]]:
    """(service, method) of every call on a boto3 client in app/."""
    found = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id in CLIENTS:
                found.add((CLIENTS[owner.func.id], node.func.attr))
                if node.func.attr == "generate_presigned_url":
                    assert isinstance(node.args[0], ast.Constant)
                    assert node.args[0].value == "get_object"
    return found


def statements() -> list[dict[str, Any]]:
    policy = RESOURCES["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return [s["Fn::If"][1] if "Fn::If" in s else s for s in policy]


def test_the_committed_template_is_the_generated_one() -> None:
    assert COMMITTED.read_text() == template.render(), "template.yaml is stale: run make template"


def test_the_tables_and_indexes_are_the_codes() -> None:
    settings = get_settings()
    specs = layout.table_specs(settings.table, settings.tags_table, settings.idempotency_table)
    for logical, spec in zip(("ImagesTable", "TagsTable", "IdempotencyTable"), specs, strict=True):
        properties = RESOURCES[logical]["Properties"]
        for field in ("AttributeDefinitions", "KeySchema", "BillingMode"):
            assert properties[field] == spec[field], (logical, field)
        assert properties.get("GlobalSecondaryIndexes") == spec.get("GlobalSecondaryIndexes"), logical
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # Idempotency records expire on their own, on the attribute Powertools writes.
    ttl = {"Enabled": True, "AttributeName": "expiration"}
    assert RESOURCES["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"] == ttl
    assert "TimeToLiveSpecification" not in RESOURCES["ImagesTable"]["Properties"]


def test_the_function_gets_every_setting_it_reads_that_deploy_sh_passes() -> None:
    variables = FUNCTION["Environment"]["Variables"]
    passed = {setting.name for setting in SETTINGS if setting.function and setting.passed}
    # deploy.sh leaves out what is empty (then the default): API_CORS_ORIGINS, unless it is set.
    assert set(resources.service_env()) == passed - {"API_CORS_ORIGINS"}
    # The template's own: the sign-in issuer (Cognito), tracing, where users reach S3, the service's name.
    signed_in = {"JWT_ISSUER", "JWT_AUDIENCE", "JWT_USER_CLAIM", "JWT_ADMIN_CLAIM", "JWT_ADMIN_GROUP", "SIGN_IN_URL"}
    own = {"TRACING", "PUBLIC_S3_ENDPOINT", *signed_in}
    assert set(variables) == passed | own | {"POWERTOOLS_SERVICE_NAME"}
    assert own <= set(BY_NAME)


def test_each_parameter_of_a_setting_is_the_settings_rule_and_the_function_gets_it() -> None:
    parameters, variables = TEMPLATE["Parameters"], FUNCTION["Environment"]["Variables"]
    for setting in SETTINGS:
        if setting.parameter is None:
            continue
        spec = parameters[setting.parameter]
        assert spec == configuration.parameter(setting), setting.parameter
        assert str(spec["Default"]) == (setting.template_default or default_text(setting)), setting.parameter
        if setting.function:
            assert variables[setting.name] == {"Ref": setting.parameter}, setting.name
        else:
            assert setting.name not in variables


def test_the_parameters_default_to_the_codes_limits() -> None:
    settings, parameters = get_settings(), TEMPLATE["Parameters"]
    assert parameters["FunctionMemory"]["Default"] == settings.memory_mb
    assert parameters["FunctionTimeout"]["Default"] == settings.function_timeout
    assert parameters["MaxUploadBytes"]["Default"] == settings.max_upload_bytes
    assert parameters["MaxDirectUploadBytes"]["Default"] == settings.max_direct_upload_bytes
    assert parameters["Stage"]["Default"] == settings.stage


def test_the_api_is_deploy_shs() -> None:
    assert RESOURCES["Api"]["Properties"]["BinaryMediaTypes"] == list(BINARY_MEDIA_TYPES)
    public = {
        path: RESOURCES[name]["Properties"]["ApiKeyRequired"]
        for name, path in [("RootMethod", "/")]
        + [(f"Public{p.strip('/').replace('.', '-').title().replace('-', '')}Method", p) for p in PUBLIC_PATHS[1:]]
    }
    assert set(public) == set(PUBLIC_PATHS)
    assert set(public.values()) == {False}
    assert RESOURCES["ProxyMethod"]["Properties"]["ApiKeyRequired"] == {"Fn::If": ["KeyRequired", True, False]}
    assert RESOURCES["ProxyResource"]["Properties"]["PathPart"] == "{proxy+}"
    assert {
        r["Properties"]["Integration"]["Type"] for r in RESOURCES.values() if r["Type"] == "AWS::ApiGateway::Method"
    } == {"AWS_PROXY"}


def deployments(resources_: dict[str, Any]) -> dict[str, str]:
    return {r["Condition"]: name for name, r in resources_.items() if r["Type"] == "AWS::ApiGateway::Deployment"}


def test_the_stage_serves_a_deployment_of_the_current_api_and_key_mode() -> None:
    """A Deployment is a snapshot taken when it is created: one kept under the same name would go
    on serving the old methods (an API key switched on, but not enforced)."""
    names = deployments(RESOURCES)
    assert set(names) == {"KeyRequired", "KeyNotRequired"}
    stage = RESOURCES["ApiStage"]["Properties"]["DeploymentId"]
    assert stage == {"Fn::If": ["KeyRequired", {"Ref": names["KeyRequired"]}, {"Ref": names["KeyNotRequired"]}]}
    methods = sorted(n for n, r in RESOURCES.items() if r["Type"] == "AWS::ApiGateway::Method")
    assert all(RESOURCES[name]["DependsOn"] == methods for name in names.values())


def test_auth_jwt_makes_a_user_pool_whose_tokens_the_function_checks() -> None:
    variables = FUNCTION["Environment"]["Variables"]
    assert TEMPLATE["Parameters"]["Auth"]["AllowedValues"] == ["none", "api-key", "jwt"]
    assert TEMPLATE["Conditions"]["SignedIn"] == {"Fn::Equals": [{"Ref": "Auth"}, "jwt"]}
    assert (variables["AUTH"], variables["VISIBILITY"]) == ({"Ref": "Auth"}, {"Ref": "Visibility"})
    assert variables["JWT_AUDIENCE"] == {"Fn::If": ["SignedIn", {"Ref": "UserPoolClient"}, {"Ref": "AWS::NoValue"}]}
    issuer = variables["JWT_ISSUER"]["Fn::If"][1]["Fn::Join"][1]
    assert issuer == [{"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/"}, {"Ref": "UserPool"}]
    client = RESOURCES["UserPoolClient"]["Properties"]
    assert (client["GenerateSecret"], client["AllowedOAuthFlows"]) == (False, ["code"])
    assert RESOURCES["AdminGroup"]["Properties"]["GroupName"] == get_settings().jwt_admin_group
    for name in ("UserPool", "UserPoolClient", "UserPoolDomain", "AdminGroup"):
        assert RESOURCES[name]["Condition"] == "SignedIn"
    assert "JWT_JWKS" not in variables, "the dev issuer is never trusted on AWS"


def test_a_changed_api_gets_a_new_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = deployments(template.api())
    monkeypatch.setattr(template, "PUBLIC_PATHS", (*PUBLIC_PATHS, "/status"))
    after = deployments(template.api())
    assert set(before.values()).isdisjoint(after.values())
    assert deployments(template.api()) == after, "the same API, the same deployment: no needless redeploys"


def test_the_role_allows_exactly_what_the_code_calls() -> None:
    needed = set().union(*(ACTIONS[call] for call in calls_in_the_code()))
    granted = {action for s in statements() for action in s["Action"]}
    extra = set(resources.LOG_ACTIONS) | {"logs:CreateLogGroup", "sqs:SendMessage"}
    extra |= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert granted == needed | extra
    assert all(s["Resource"] != "*" for s in statements() if s["Sid"] != "Traces"), "X-Ray's actions take no resource"


def test_deploy_shs_policy_grants_the_same() -> None:
    policy = resources.role_policy("us-east-1", "123456789012", "image-api")
    granted = {action for s in policy["Statement"] for action in s["Action"]}
    assert granted == set().union(*(ACTIONS[call] for call in calls_in_the_code())) | set(resources.LOG_ACTIONS) | {
        "logs:CreateLogGroup"
    }


def test_the_bucket_is_private_encrypted_and_expires_what_processing_left() -> None:
    bucket = RESOURCES["ImagesBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert (rules["expire-incoming"]["Prefix"], rules["expire-incoming"]["ExpirationInDays"]) == (
        layout.INCOMING_PREFIX,
        1,
    )
    assert rules["abort-multipart"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    [notification] = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": layout.INCOMING_PREFIX}]


@pytest.mark.parametrize(
    ("alarm", "metric"),
    [
        ("ServerErrorsAlarm", "5XXError"),
        ("ThrottlesAlarm", "Throttles"),
        ("FunctionErrorsAlarm", "Errors"),
        ("FailedEventsAlarm", "ApproximateNumberOfMessagesVisible"),
    ],
)
def test_alarms_tell_the_alarm_topic(alarm: str, metric: str) -> None:
    properties = RESOURCES[alarm]["Properties"]
    assert (properties["MetricName"], properties["AlarmActions"]) == (metric, [{"Ref": "Alarms"}])
    assert properties["Threshold"] == 1


def test_production_defaults() -> None:
    assert FUNCTION["Tracing"] == {"Ref": "Tracing"}
    assert TEMPLATE["Parameters"]["Tracing"]["Default"] == "Active"
    assert FUNCTION["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailedEvents", "Arn"]},
    }
    assert RESOURCES["FunctionLogs"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert FUNCTION["ReservedConcurrentExecutions"]["Fn::If"][0] == "HasReservedConcurrency"
    assert RESOURCES["ApiStage"]["Properties"]["TracingEnabled"] == {"Fn::If": ["TracingActive", True, False]}


def test_tracing_off_imports_no_tracer() -> None:
    code = "import sys, app.handler; print('aws_xray_sdk' in sys.modules)"
    for tracing, expected in (("", "False"), ("Active", "True")):
        env = {"PATH": "/usr/bin:/bin", "TRACING": tracing, "POWERTOOLS_TRACE_DISABLED": "true"}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
        )
        assert out.stdout.strip() == expected, (tracing, out.stderr[-500:])
