#!/usr/bin/env bash
# Creates the Secrets the dev overlay expects, with random values, in namespace swe-dev.
# Existing Secrets are kept (re-running is safe). Nothing here is committed anywhere.
#   k8s/overlays/dev/create-secrets.sh && kubectl apply -k k8s/overlays/dev
set -euo pipefail
NS=${NAMESPACE:-swe-dev}
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }

kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS"
exists() { kubectl -n "$NS" get secret "$1" >/dev/null 2>&1; }
value() { kubectl -n "$NS" get secret "$1" -o "jsonpath={.data.$2}" | base64 -d; }

exists swe-postgres || kubectl -n "$NS" create secret generic swe-postgres \
  --from-literal=password="$(rand)"
exists swe-rabbitmq || kubectl -n "$NS" create secret generic swe-rabbitmq \
  --from-literal=username=swe --from-literal=password="$(rand)"

PG_PASSWORD=$(value swe-postgres password)
MQ_USER=$(value swe-rabbitmq username)
MQ_PASSWORD=$(value swe-rabbitmq password)
DB="postgresql+psycopg://swe:${PG_PASSWORD}@postgres:5432/swe"

exists swe-database || kubectl -n "$NS" create secret generic swe-database \
  --from-literal=auth-url="$DB" --from-literal=projects-url="$DB" \
  --from-literal=agents-url="$DB" --from-literal=issues-url="$DB" \
  --from-literal=analytics-url="$DB"
exists swe-broker || kubectl -n "$NS" create secret generic swe-broker \
  --from-literal=amqp-url="amqp://${MQ_USER}:${MQ_PASSWORD}@rabbitmq:5672/"
exists swe-redis || kubectl -n "$NS" create secret generic swe-redis \
  --from-literal=redis-url="redis://redis:6379/0"
exists swe-auth || kubectl -n "$NS" create secret generic swe-auth \
  --from-literal=key-encryption-key="$(rand)$(rand)"
exists swe-projects || kubectl -n "$NS" create secret generic swe-projects \
  --from-literal=webhook-secret-key="$(rand)$(rand)"
exists swe-issues || kubectl -n "$NS" create secret generic swe-issues \
  --from-literal=github-token-key="$(rand)$(rand)"
echo "Secrets ready in namespace $NS"
