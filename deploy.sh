#!/usr/bin/env bash
# Deploys the Image API: bucket, table, role, function and one REST API.
# Idempotent: every run creates what is missing and updates what exists, by name.
#
#   bash deploy.sh            # against LocalStack, with awslocal
#   bash deploy.sh -v         # the same, showing every CLI call's output
#   bash deploy.sh --api-key  # every method needs x-api-key (also API_KEY=1); API_KEY=0 turns it off again
#   bash deploy.sh --auth jwt [--visibility private]   # signed-in users (also AUTH=jwt, VISIBILITY=private):
#                             # bearer tokens of the dev issuer (make token USER=alice) or of JWT_ISSUER
#   bash deploy.sh --auth none                          # back to anyone (also --auth api-key)
#   AWS_CLI=aws bash deploy.sh                       # real AWS, with your credentials
#   AWS_CLI="aws --endpoint-url=http://localhost:4566" bash deploy.sh
#
# Settings (environment): LAMBDA_ARCH (x86_64|arm64, default: this machine's), PUBLIC_S3_ENDPOINT,
# PYTHON, API_RATE_LIMIT and API_BURST_LIMIT (usage plan throttling with --api-key), and the
# service's own names and limits (FUNCTION_NAME, API_NAME, STAGE, IMAGES_BUCKET, ...: app/settings.py).
set -euo pipefail
cd "$(dirname "$0")"

VERBOSE=0
API_KEY="${API_KEY:-0}"
AUTH="${AUTH:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    -v|--verbose) VERBOSE=1 ;;
    --api-key) API_KEY=1 ;;
    --auth|--visibility) [ $# -gt 1 ] || { echo "deploy.sh: $1 needs a value" >&2; exit 2; }
      if [ "$1" = --auth ]; then AUTH="$2"; else export VISIBILITY="$2"; fi; shift ;;
    --auth=*) AUTH="${1#*=}" ;;
    --visibility=*) export VISIBILITY="${1#*=}" ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown option $1 (try -h)" >&2; exit 2 ;;
  esac
  shift
done
case "$API_KEY" in 0|1) ;; *) echo "deploy.sh: API_KEY is 0 or 1, not '$API_KEY'" >&2; exit 2 ;; esac
# One mode: --api-key is --auth api-key; any other --auth turns the key off (a bad one is refused below).
case "${AUTH:-}" in
  "") AUTH=none; [ "$API_KEY" = 1 ] && AUTH=api-key ;;
  api-key) API_KEY=1 ;;
  *) API_KEY=0 ;;
esac
export AUTH

export DISABLE_DEPRECATION_NOTICE=1 AWS_PAGER=""
AWS_CLI="${AWS_CLI:-awslocal}"
PYTHON="${PYTHON:-python3}"
# LocalStack or AWS? Only the URLs printed at the end and where presigned
# URLs point differ; nothing below assumes an account id or a region.
ENDPOINT=""
case "$AWS_CLI" in
  awslocal*) ENDPOINT="${LOCALSTACK_ENDPOINT:-http://localhost:4566}" ;;
  *--endpoint-url=*) ENDPOINT="${AWS_CLI##*--endpoint-url=}"; ENDPOINT="${ENDPOINT%% *}" ;;
esac
# The settings are read as the function will read them: AWS_ENDPOINT_URL says where it runs.
resources() { AWS_ENDPOINT_URL="${ENDPOINT:-${AWS_ENDPOINT_URL:-}}" "$PYTHON" -m deploy.resources "$@"; }
# Every setting checked before anything is changed (app/settings.py's table; the function would
# refuse to serve with a bad one anyway).
resources check || exit 2
if [ "$AUTH" = jwt ] && ! "$PYTHON" -c "import jwt, cryptography" 2>/dev/null; then
  # The dev issuer signs with PyJWT and cryptography, which make installs into .venv.
  [ -x .venv/bin/python ] || { echo "deploy.sh: --auth jwt needs make venv first (PyJWT, cryptography)" >&2; exit 2; }
  PYTHON=.venv/bin/python
fi
KEY_REQUIRED=false; [ "$API_KEY" = 1 ] && KEY_REQUIRED=true
BUILD=build

case "${LAMBDA_ARCH:-$(uname -m)}" in
  arm64|aarch64) ARCH=arm64 ;;
  x86_64|amd64) ARCH=x86_64 ;;
  *) echo "deploy.sh: unsupported LAMBDA_ARCH ${LAMBDA_ARCH:-$(uname -m)} (x86_64 or arm64)" >&2; exit 2 ;;
esac

step() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }

# cli ARGS...: run the AWS CLI; quiet unless -v, but a failure always shows its output.
cli() {
  local out
  if [ "$VERBOSE" = 1 ]; then
    echo "+ $AWS_CLI $*" >&2
    $AWS_CLI "$@"
  elif ! out="$($AWS_CLI "$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
}
# query ARGS...: run the AWS CLI and print its (text) output; silent failure means "absent".
query() { $AWS_CLI "$@" --output text 2>/dev/null; }

# `make` installs awslocal into .venv: a plain `bash deploy.sh` (no activated venv) finds it there too.
if ! command -v "${AWS_CLI%% *}" >/dev/null && [ -x ".venv/bin/${AWS_CLI%% *}" ]; then PATH="$PWD/.venv/bin:$PATH"; fi
command -v "${AWS_CLI%% *}" >/dev/null || die "${AWS_CLI%% *} not found: pip install awscli-local awscli (or set AWS_CLI)"
names="$(resources env)" || exit 2
eval "$names"  # FUNCTION_NAME, API_NAME, STAGE, IMAGES_BUCKET, ...: the names app/settings.py gives

step "Checking credentials and region"
ACCOUNT="$(query sts get-caller-identity --query Account)" || die "no credentials, or nothing answers at ${ENDPOINT:-AWS} (is LocalStack running? make localstack)"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$($AWS_CLI configure get region 2>/dev/null || true)}}"
REGION="${REGION:-us-east-1}"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"

# --- 1. the zip, built for the Lambda's platform, never from this interpreter ---
step "Building the Lambda zip ($RUNTIME, $ARCH)"
built="$("$PYTHON" -m deploy.package "$ARCH")"
read -r ZIP zip_bytes <<<"$built"
echo "    $ZIP: $((zip_bytes / 1024)) KiB"

# --- 2. storage ---
step "Bucket $IMAGES_BUCKET"
if ! query s3api head-bucket --bucket "$IMAGES_BUCKET" >/dev/null; then
  if [ "$REGION" = us-east-1 ]; then
    cli s3api create-bucket --bucket "$IMAGES_BUCKET"
  else
    cli s3api create-bucket --bucket "$IMAGES_BUCKET" --create-bucket-configuration "LocationConstraint=$REGION"
  fi
fi
cli s3api put-public-access-block --bucket "$IMAGES_BUCKET" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
cli s3api put-bucket-cors --bucket "$IMAGES_BUCKET" --cors-configuration "$(resources bucket-cors)"

# (File descriptors 3 and 4, so that no CLI call inside can read the lists.)
while read -r table spec <&3; do
  step "Table $table"
  if ! query dynamodb describe-table --table-name "$table" >/dev/null; then
    cli dynamodb create-table --cli-input-json "$spec"
  fi
  cli dynamodb wait table-exists --table-name "$table"
  # An older table may lack an index a newer release queries: add them one at a time.
  while read -r update <&4; do
    [ -n "$update" ] || continue
    step "  adding an index to $table (then make migrate indexes what an earlier release wrote)"
    cli dynamodb update-table --cli-input-json "$update"
    for _ in $(seq 1 120); do
      pending="$($AWS_CLI dynamodb describe-table --table-name "$table" --output json \
        --query "length(Table.GlobalSecondaryIndexes[?IndexStatus!='ACTIVE'])")"
      [ "$pending" = 0 ] && break
      sleep 2
    done
  done 4< <($AWS_CLI dynamodb describe-table --table-name "$table" --output json | resources missing-indexes)
  # An index an earlier release read goes once every row is in the one that replaced it.
  while read -r update <&4; do
    [ -n "$update" ] || continue
    unmigrated="$($AWS_CLI dynamodb scan --table-name "$table" --select COUNT --output text --query Count \
      --filter-expression "attribute_exists(#s) AND attribute_not_exists(status_shard)" \
      --expression-attribute-names '{"#s": "status"}')"
    if [ "$unmigrated" != 0 ]; then
      warn "$unmigrated image(s) in $table predate the sharded listing: run make migrate, then deploy.sh again"
      break
    fi
    step "  dropping an index of an earlier release from $table"
    cli dynamodb update-table --cli-input-json "$update"
  done 4< <($AWS_CLI dynamodb describe-table --table-name "$table" --output json | resources retired-indexes)
done 3< <(resources table-specs)
# Idempotency records delete themselves once expired (DynamoDB's time to live).
if [ "$(query dynamodb describe-time-to-live --table-name "$IDEMPOTENCY_TABLE" \
  --query TimeToLiveDescription.TimeToLiveStatus)" != ENABLED ]; then
  cli dynamodb update-time-to-live --cli-input-json "$(resources time-to-live)"
fi

# --- 3. identity ---
step "Role $ROLE_NAME"
if ! ROLE_ARN="$(query iam get-role --role-name "$ROLE_NAME" --query Role.Arn)"; then
  ROLE_ARN="$($AWS_CLI iam create-role --role-name "$ROLE_NAME" --output text --query Role.Arn \
    --assume-role-policy-document "$(resources trust-policy)")"
  # AWS needs seconds before Lambda can assume a new role; LocalStack does not.
  sleep "${ROLE_PROPAGATION_SECONDS:-$([ -n "$ENDPOINT" ] && echo 0 || echo 10)}"
fi
cli iam put-role-policy --role-name "$ROLE_NAME" --policy-name "$POLICY_NAME" \
  --policy-document "$(resources role-policy "$REGION" "$ACCOUNT" "$FUNCTION_NAME")"

# --- 4. function ---
FUNCTION_ENV="$(resources function-env "${PUBLIC_S3_ENDPOINT:-$ENDPOINT}")"
step "Function $FUNCTION_NAME"
if query lambda get-function --function-name "$FUNCTION_NAME" >/dev/null; then
  # The zip is reproducible: the same digest and architecture mean this code is live already.
  DEPLOYED="$(query lambda get-function-configuration --function-name "$FUNCTION_NAME" \
    --query '[CodeSha256, Architectures[0]]' | tr '\t' ' ')"
  if [ "$DEPLOYED" = "$(resources code-sha256 "$ZIP") $ARCH" ]; then
    echo "    its code is unchanged: not uploaded again"
  else
    cli lambda update-function-code --function-name "$FUNCTION_NAME" --zip-file "fileb://$ZIP" --architectures "$ARCH"
    cli lambda wait function-updated-v2 --function-name "$FUNCTION_NAME"
  fi
  cli lambda update-function-configuration --function-name "$FUNCTION_NAME" --runtime "$RUNTIME" \
    --handler app.handler.lambda_handler --role "$ROLE_ARN" --timeout "$FUNCTION_TIMEOUT" --memory-size "$FUNCTION_MEMORY_MB" \
    --environment "$FUNCTION_ENV"
  cli lambda wait function-updated-v2 --function-name "$FUNCTION_NAME"
else
  # A role just created may not be assumable yet on AWS ("cannot be assumed by Lambda"): retry a few times.
  for attempt in 1 2 3 4 5 6; do
    cli lambda create-function --function-name "$FUNCTION_NAME" --runtime "$RUNTIME" --architectures "$ARCH" \
      --handler app.handler.lambda_handler --role "$ROLE_ARN" --timeout "$FUNCTION_TIMEOUT" --memory-size "$FUNCTION_MEMORY_MB" \
      --zip-file "fileb://$ZIP" --environment "$FUNCTION_ENV" && break
    [ "$attempt" = 6 ] && die "could not create the function"
    echo "    the role is not assumable yet; retrying in 5 s" >&2
    sleep 5
  done
  cli lambda wait function-active-v2 --function-name "$FUNCTION_NAME"
fi
FUNCTION_ARN="$(query lambda get-function --function-name "$FUNCTION_NAME" --query Configuration.FunctionArn)"

step "S3 notification: direct uploads in $INCOMING_PREFIX invoke $FUNCTION_NAME"
query lambda remove-permission --function-name "$FUNCTION_NAME" --statement-id s3-invoke >/dev/null || true
cli lambda add-permission --function-name "$FUNCTION_NAME" --statement-id s3-invoke \
  --action lambda:InvokeFunction --principal s3.amazonaws.com \
  --source-arn "arn:aws:s3:::$IMAGES_BUCKET" --source-account "$ACCOUNT"
cli s3api put-bucket-notification-configuration --bucket "$IMAGES_BUCKET" \
  --notification-configuration "$(resources notification "$FUNCTION_ARN")"

# --- 5. REST API: / and {proxy+}, ANY, Lambda proxy integration ---
step "REST API $API_NAME"
API_IDS="$(query apigateway get-rest-apis --query "items[?name=='$API_NAME'].id")" || API_IDS=""
API_ID="$(printf '%s' "$API_IDS" | awk '{print $1}')"
if [ "$(printf '%s' "$API_IDS" | wc -w)" -gt 1 ]; then
  echo "    warning: several REST APIs are named $API_NAME ($API_IDS); using $API_ID" >&2
fi
mapfile -t BINARY_TYPES < <(resources binary-media-types)
if [ -z "$API_ID" ] || [ "$API_ID" = None ]; then
  API_ID="$($AWS_CLI apigateway create-rest-api --name "$API_NAME" --output text --query id \
    --endpoint-configuration types=REGIONAL --binary-media-types "${BINARY_TYPES[@]}")"
else
  have_types="$(query apigateway get-rest-api --rest-api-id "$API_ID" --query 'binaryMediaTypes' || true)"
  for type in "${BINARY_TYPES[@]}"; do
    case " $have_types " in *"$type"*) continue ;; esac
    cli apigateway update-rest-api --rest-api-id "$API_ID" \
      --patch-operations "op=add,path=/binaryMediaTypes/${type//\//~1}"
  done
fi
ROOT_ID="$(query apigateway get-resources --rest-api-id "$API_ID" --query "items[?path=='/'].id")"
PROXY_ID="$(query apigateway get-resources --rest-api-id "$API_ID" --query "items[?path=='/{proxy+}'].id")"
if [ -z "$PROXY_ID" ] || [ "$PROXY_ID" = None ]; then
  PROXY_ID="$($AWS_CLI apigateway create-resource --rest-api-id "$API_ID" --parent-id "$ROOT_ID" \
    --path-part '{proxy+}' --output text --query id)"
fi
INTEGRATION_URI="arn:aws:apigateway:$REGION:lambda:path/2015-03-31/functions/$FUNCTION_ARN/invocations"
# route RESOURCE_ID KEY_REQUIRED [METHOD]: METHOD (default ANY) on the resource, proxied to the function.
route() {
  local method="${3:-ANY}"
  if ! query apigateway get-method --rest-api-id "$API_ID" --resource-id "$1" --http-method "$method" >/dev/null; then
    cli apigateway put-method --rest-api-id "$API_ID" --resource-id "$1" --http-method "$method" \
      --authorization-type NONE
  fi
  cli apigateway update-method --rest-api-id "$API_ID" --resource-id "$1" --http-method "$method" \
    --patch-operations "op=replace,path=/apiKeyRequired,value=$2"
  cli apigateway put-integration --rest-api-id "$API_ID" --resource-id "$1" --http-method "$method" \
    --type AWS_PROXY --integration-http-method POST --uri "$INTEGRATION_URI"
}
route "$PROXY_ID" "$KEY_REQUIRED"
# A browser's CORS preflight carries no key: it reaches the function, which answers it (API_CORS_ORIGINS).
route "$PROXY_ID" false OPTIONS
# The gallery page, its assets and the API's documentation stay reachable without a key
# (a browser cannot send one when it loads a page); they hold no data.
while read -r public <&3; do
  if [ "$public" = / ]; then
    route "$ROOT_ID" false
    continue
  fi
  part="${public#/}"
  id="$(query apigateway get-resources --rest-api-id "$API_ID" --query "items[?path=='$public'].id")"
  if [ -z "$id" ] || [ "$id" = None ]; then
    id="$($AWS_CLI apigateway create-resource --rest-api-id "$API_ID" --parent-id "$ROOT_ID" \
      --path-part "$part" --output text --query id)"
  fi
  route "$id" false
done 3< <(resources public-paths)

step "Permission for API Gateway to invoke $FUNCTION_NAME"
query lambda remove-permission --function-name "$FUNCTION_NAME" --statement-id apigateway-invoke >/dev/null || true
cli lambda add-permission --function-name "$FUNCTION_NAME" --statement-id apigateway-invoke \
  --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
  --source-arn "arn:aws:execute-api:$REGION:$ACCOUNT:$API_ID/*"

step "Deploying stage $STAGE"
cli apigateway create-deployment --rest-api-id "$API_ID" --stage-name "$STAGE"

# --- 5b. API key: a usage plan with throttling, and a key in it ---
KEY_SOURCE=""
if [ "$API_KEY" = 1 ]; then
  step "API key and usage plan ($API_RATE_LIMIT req/s, burst $API_BURST_LIMIT)"
  PLAN_ID="$(query apigateway get-usage-plans --query "items[?name=='$USAGE_PLAN_NAME'].id | [0]")"
  if [ -z "$PLAN_ID" ] || [ "$PLAN_ID" = None ]; then
    PLAN_ID="$($AWS_CLI apigateway create-usage-plan --name "$USAGE_PLAN_NAME" --output text --query id \
      --throttle "burstLimit=$API_BURST_LIMIT,rateLimit=$API_RATE_LIMIT" \
      --api-stages "apiId=$API_ID,stage=$STAGE")"
  else
    cli apigateway update-usage-plan --usage-plan-id "$PLAN_ID" --patch-operations \
      "op=replace,path=/throttle/rateLimit,value=$API_RATE_LIMIT" \
      "op=replace,path=/throttle/burstLimit,value=$API_BURST_LIMIT"
    stages="$(query apigateway get-usage-plan --usage-plan-id "$PLAN_ID" --query "apiStages[?apiId=='$API_ID'].stage")"
    case " $stages " in
      *" $STAGE "*) ;;
      *) cli apigateway update-usage-plan --usage-plan-id "$PLAN_ID" \
           --patch-operations "op=add,path=/apiStages,value=$API_ID:$STAGE" ;;
    esac
  fi
  KEY_ID="$(query apigateway get-api-keys --name-query "$API_KEY_NAME" --query "items[?name=='$API_KEY_NAME'].id | [0]")"
  if [ -z "$KEY_ID" ] || [ "$KEY_ID" = None ]; then
    KEY_ID="$($AWS_CLI apigateway create-api-key --name "$API_KEY_NAME" --enabled --output text --query id)"
  fi
  if [ -z "$(query apigateway get-usage-plan-keys --usage-plan-id "$PLAN_ID" --query "items[?id=='$KEY_ID'].id")" ]; then
    cli apigateway create-usage-plan-key --usage-plan-id "$PLAN_ID" --key-id "$KEY_ID" --key-type API_KEY
  fi
  # The key goes to a file only you can read, and to the screen only when it is a terminal,
  # so that it never lands in a CI log.
  (umask 077 && mkdir -p "$BUILD" && query apigateway get-api-key --api-key "$KEY_ID" --include-value \
    --query value >"$BUILD/api_key")
  KEY_SOURCE='$(cat build/api_key)'
fi

# --- 6. how to use it ---
if [ -n "$ENDPOINT" ]; then
  BASE_URL="$ENDPOINT/_aws/execute-api/$API_ID/$STAGE"
  INSPECT=""   # make inspect finds LocalStack itself, in any shell
else
  BASE_URL="https://$API_ID.execute-api.$REGION.amazonaws.com/$STAGE"
  INSPECT="aws"
fi
mkdir -p "$BUILD" && printf '%s\n' "$BASE_URL" >"$BUILD/base_url"
printf '\nDeployed. Base URL:\n  %s\n\n' "$BASE_URL"
if [ "$API_KEY" = 1 ]; then
  if [ -t 1 ]; then
    printf 'API key (every request needs the header x-api-key): %s\n  (also in build/api_key)\n\n' "$(cat "$BUILD/api_key")"
  else
    printf 'API key: in build/api_key (not printed: this output is not a terminal)\n\n'
  fi
fi
resources usage "$BASE_URL" "$INSPECT" "$KEY_SOURCE"
