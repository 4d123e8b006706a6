#!/bin/sh
# One-shot MinIO setup, safe to run again: the bucket with versioning, the
# policies and unit users rendered by `dvkn infra users` (in $ACCESS_DIR), the
# pipeline's service account, and the bucket notification for uploads under
# incoming/ to the webhook target DVKN (configured on the MinIO server by the
# MINIO_NOTIFY_WEBHOOK_*_DVKN variables). No secret is printed.
set -eu

: "${MINIO_URL:?}" "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}"
: "${DVKN_S3_ACCESS_KEY:?}" "${DVKN_S3_SECRET_KEY:?}"
BUCKET="${DVKN_BUCKET:-dvkn}"
PREFIX="${DVKN_INCOMING_PREFIX:-incoming/}"
ACCESS_DIR="${ACCESS_DIR:-/access}"
ARN="arn:minio:sqs::DVKN:webhook"
ALIAS=dvkn

mc alias set "$ALIAS" "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null

mc mb --ignore-existing "$ALIAS/$BUCKET"
# Versions keep every upload's bytes even when a unit overwrites its key.
mc version enable "$ALIAS/$BUCKET"

# Policies (steward, reader, pipeline, one per unit) and one user per unit.
MC_ALIAS="$ALIAS" CREDENTIALS_FILE="$ACCESS_DIR/unit-credentials.csv" sh "$ACCESS_DIR/apply.sh"

# The pipeline's own account (workers, deploy); re-adding updates its secret.
mc admin user add "$ALIAS" "$DVKN_S3_ACCESS_KEY" "$DVKN_S3_SECRET_KEY" >/dev/null
mc admin policy attach "$ALIAS" dvkn-pipeline --user "$DVKN_S3_ACCESS_KEY" >/dev/null 2>&1 || true

# Uploads (PUT, POST, COPY, multipart) under incoming/ notify the receiver.
if mc event ls "$ALIAS/$BUCKET" "$ARN" | grep -q "$PREFIX"; then
  echo "event subscription already present"
else
  mc event add "$ALIAS/$BUCKET" "$ARN" --event put --prefix "$PREFIX"
fi
echo "MinIO ready: bucket $BUCKET (versioned), notifications for $PREFIX -> $ARN"
