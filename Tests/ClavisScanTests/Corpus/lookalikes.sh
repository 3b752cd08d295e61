#!/bin/sh
# Look-alikes: digests, ids, short signatures, documentation (nothing here is a secret)
image=contoso.azurecr.io/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
TOKEN_SHA256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
curl "https://acct.blob.core.windows.net/c/b?comp=list&sig=short"
echo "deploying to ASIA-PACIFIC and AKIAK region aliases"
docker run -p 5432:5432 -e POSTGRES_PASSWORD_FILE=/run/secrets/pg postgres:16
SLACK_CHANNEL=C024BE91L
# ghp_ marks a personal access token, xoxb- a Slack bot token
az storage blob generate-sas --account-name acct -c c -n b --permissions r --expiry 2026-12-31 --https-only
kubectl create secret generic app --from-literal=password="$(clavis secret get keyring:app/db)"
