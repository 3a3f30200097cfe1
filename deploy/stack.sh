#!/usr/bin/env bash
# Deploys template.yaml as a CloudFormation stack, unchanged, on LocalStack or on AWS.
#
#   bash deploy/stack.sh deploy [Name=Value ...]   # package the zip, deploy or update the stack
#   bash deploy/stack.sh delete                    # empty its bucket, delete it, check nothing is left
#   AWS_CLI=aws bash deploy/stack.sh deploy AlarmEmail=you@example.com    # on AWS (make deploy-aws)
#
# Settings (environment): AWS_CLI (default awslocal), STACK (default <service>-stack, app/settings.py; lower case,
# it names the bucket), ARTIFACT_BUCKET (where the zip is uploaded; default <stack>-artifacts-<account>-<region>,
# created when missing), LAMBDA_ARCH, PYTHON, YES=1 (delete on AWS without asking).
set -euo pipefail
cd "$(dirname "$0")/.."

ACTION="${1:-}"; shift || true
export DISABLE_DEPRECATION_NOTICE=1 AWS_PAGER=""
AWS_CLI="${AWS_CLI:-awslocal}"
PYTHON="${PYTHON:-python3}"
STACK="${STACK:-$("$PYTHON" -c 'from app.settings import Settings; print(Settings().stack_name)')}"
ENDPOINT=""
case "$AWS_CLI" in
  awslocal*) ENDPOINT="${LOCALSTACK_ENDPOINT:-http://localhost:4566}" ;;
  *--endpoint-url=*) ENDPOINT="${AWS_CLI##*--endpoint-url=}"; ENDPOINT="${ENDPOINT%% *}" ;;
esac
case "${LAMBDA_ARCH:-$(uname -m)}" in
  arm64|aarch64) ARCH=arm64 ;;
  *) ARCH=x86_64 ;;
esac

die() { printf 'deploy/stack.sh: %s\n' "$*" >&2; exit 1; }
# quiet ARGS...: run a command; its output shows only when it fails.
quiet() { local out; out="$("$@" 2>&1)" || { printf '%s\n' "$out" >&2; return 1; }; }
output() { $AWS_CLI cloudformation describe-stacks --stack-name "$STACK" --output text \
  --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]"; }

ACCOUNT="$($AWS_CLI sts get-caller-identity --query Account --output text)" \
  || die "no credentials, or nothing answers at ${ENDPOINT:-AWS} (is LocalStack running?)"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$($AWS_CLI configure get region 2>/dev/null || true)}}"
REGION="${REGION:-us-east-1}"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
ARTIFACT_BUCKET="${ARTIFACT_BUCKET:-$STACK-artifacts-$ACCOUNT-$REGION}"

# LocalStack's CloudFormation skips updates of API Gateway methods and stages (AWS makes them): an
# update that changes the API's shape or its key mode (Auth=api-key) would leave it serving the old API, or none.
# Such an update is refused there, before anything changes.
refuse_api_change_on_localstack() {
  [ -n "$ENDPOINT" ] || return 0
  local current wanted key arg
  current="$($AWS_CLI cloudformation describe-stack-resources --stack-name "$STACK" --output text --query \
    "StackResources[?ResourceType=='AWS::ApiGateway::Deployment'].LogicalResourceId | [0]" 2>/dev/null)" || return 0
  key="$($AWS_CLI cloudformation describe-stacks --stack-name "$STACK" --output text \
    --query "Stacks[0].Parameters[?ParameterKey=='Auth'].ParameterValue | [0]")"
  for arg in "$@"; do case "$arg" in Auth=*) key="${arg#*=}" ;; esac; done
  wanted="$(grep -o -m1 "ApiDeployment$([ "$key" = api-key ] && echo Keyed || echo Open)[0-9a-f]*" template.yaml)"
  [ "$current" = "$wanted" ] || die "this update changes the API ($current -> $wanted, Auth=$key), \
which LocalStack's CloudFormation cannot do in place. Delete the stack first (make delete-stack; \
it deletes the stack's images too), then deploy again. On AWS the update works as it is."
}

# check_parameters NAME=VALUE...: every value by the rule of its setting (app/settings.py) or its declared
# constraints, and the rules between settings, over the stack's current parameters; exit 2 before any change.
check_parameters() {
  local current
  current="$($AWS_CLI cloudformation describe-stacks --stack-name "$STACK" --output text \
    --query 'Stacks[0].Parameters[].[ParameterKey, ParameterValue]' 2>/dev/null | awk -F'\t' '{printf "%s=%s ", $1, $2}')" \
    || current=""
  "$PYTHON" -m deploy.configuration check-parameters "$current" "$@" || exit 2
}

deploy() {
  check_parameters "$@"
  refuse_api_change_on_localstack "$@"
  echo "==> Building the Lambda zip ($ARCH)"
  quiet "$PYTHON" -m deploy.package "$ARCH"
  if ! $AWS_CLI s3api head-bucket --bucket "$ARTIFACT_BUCKET" >/dev/null 2>&1; then
    echo "==> Artifact bucket $ARTIFACT_BUCKET"
    if [ "$REGION" = us-east-1 ]; then
      $AWS_CLI s3api create-bucket --bucket "$ARTIFACT_BUCKET" >/dev/null
    else
      $AWS_CLI s3api create-bucket --bucket "$ARTIFACT_BUCKET" \
        --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null
    fi
    $AWS_CLI s3api put-public-access-block --bucket "$ARTIFACT_BUCKET" --public-access-block-configuration \
      BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  fi
  echo "==> Packaging template.yaml"
  mkdir -p build
  quiet $AWS_CLI cloudformation package --template-file template.yaml --s3-bucket "$ARTIFACT_BUCKET" \
    --s3-prefix "$STACK" --output-template-file build/packaged.yaml
  local overrides=("Architecture=$ARCH")
  [ -n "$ENDPOINT" ] && overrides+=("PublicS3Endpoint=${PUBLIC_S3_ENDPOINT:-$ENDPOINT}")
  echo "==> Deploying stack $STACK"
  $AWS_CLI cloudformation deploy --template-file build/packaged.yaml --stack-name "$STACK" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides[@]}" "$@"
  describe
}

# describe: the base URL, and build/stack.env for the tests and tools (the key, if any, only to a private file).
describe() {
  local api_id stage base key_id
  api_id="$(output ApiId)"; stage="$(output Stage)"
  if [ -n "$ENDPOINT" ]; then base="$ENDPOINT/_aws/execute-api/$api_id/$stage"; else base="$(output BaseUrl)"; fi
  {
    echo "BASE_URL=$base"
    [ -n "$ENDPOINT" ] && echo "AWS_ENDPOINT_URL=$ENDPOINT"
    echo "IMAGES_BUCKET=$(output Bucket)"
    echo "IMAGES_TABLE=$(output ImagesTable)"
    echo "TAGS_TABLE=$(output TagsTable)"
    echo "IDEMPOTENCY_TABLE=$(output IdempotencyTable)"
  } >build/stack.env
  key_id="$(output ApiKeyId)"
  if [ -n "$key_id" ] && [ "$key_id" != None ]; then
    (umask 077 && $AWS_CLI apigateway get-api-key --api-key "$key_id" --include-value --query value \
      --output text >build/stack_api_key)
  else
    rm -f build/stack_api_key
  fi
  printf '\nStack %s deployed. Base URL:\n  %s\n\n' "$STACK" "$base"
  # The usage lines name the stack's bucket and table, not deploy.sh's.
  (set -a && . build/stack.env && "$PYTHON" -m deploy.resources usage "$base" "${AWS_CLI%% *}" \
    "$([ -f build/stack_api_key ] && echo '$(cat build/stack_api_key)')")
}

delete() {
  local bucket
  bucket="$(output Bucket 2>/dev/null)" || die "no stack named $STACK"
  if [ -z "$ENDPOINT" ] && [ "${YES:-0}" != 1 ]; then
    read -r -p "Delete stack $STACK and every image in s3://$bucket? Type the stack's name: " answer
    [ "$answer" = "$STACK" ] || die "not deleted"
  fi
  echo "==> Emptying s3://$bucket (CloudFormation deletes empty buckets only)"
  $AWS_CLI s3 rm "s3://$bucket" --recursive --quiet || true
  echo "==> Deleting stack $STACK"
  $AWS_CLI cloudformation delete-stack --stack-name "$STACK"
  $AWS_CLI cloudformation wait stack-delete-complete --stack-name "$STACK"
  if $AWS_CLI s3api head-bucket --bucket "$ARTIFACT_BUCKET" >/dev/null 2>&1; then
    $AWS_CLI s3 rm "s3://$ARTIFACT_BUCKET" --recursive --quiet
    $AWS_CLI s3api delete-bucket --bucket "$ARTIFACT_BUCKET"
  fi
  rm -f build/stack.env build/stack_api_key build/packaged.yaml
  AWS_ENDPOINT_URL="$ENDPOINT" "$PYTHON" -m deploy.leftovers "$STACK"
}

case "$ACTION" in
  deploy) deploy "$@" ;;
  delete) delete ;;
  describe) describe ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
