#!/usr/bin/env bash
# `make local`: installs what is missing, starts Postgres and Redis under
# .local/dev (unless DATABASE_URL / REDIS_URL point elsewhere), migrates, and
# runs the relay and the all-functions shim. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DEV=$ROOT/.local/dev
mkdir -p "$DEV" "$ROOT/.local/bin"

# .env wins over the defaults below, the environment wins over .env.
if [ -f .env ]; then
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    key=${line%%=*}; key=${key// /}
    [ -n "${!key:-}" ] || export "$key=${line#*=}"
  done < .env
fi

PG_PORT=54329
REDIS_PORT=63799
started_services=""
if [ -z "${DATABASE_URL:-}" ]; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/ari?sslmode=disable"
  own_pg=1
else
  own_pg=0
fi
if [ -z "${REDIS_URL:-}" ]; then
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  own_redis=1
else
  own_redis=0
fi

SKIP_POSTGRES=$((1 - own_pg)) SKIP_REDIS=$((1 - own_redis)) \
  bash local/scripts/services.sh install
if [ "$own_pg" = 1 ] || [ "$own_redis" = 1 ]; then
  SKIP_POSTGRES=$((1 - own_pg)) SKIP_REDIS=$((1 - own_redis)) \
    bash local/scripts/services.sh start "$DEV" "$PG_PORT" "$REDIS_PORT"
  started_services=1
fi
if [ "$own_pg" = 1 ]; then
  psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -Atqc "select 1 from pg_database where datname='ari'" | grep -q 1 \
    || psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -qc "create database ari"
fi

echo "building…"
go build -o .local/bin/ari-local ./local
go build -o .local/bin/relay ./relay
[ -d local/echoagent ] && go build -o .local/bin/echoagent ./local/echoagent
# The web app: npm ci from local/web's lockfile (again only when the lockfile
# changed), then esbuild bundles it into local/web/dist, which the shim serves
# at / (WEB_DIR). Without npm the API runs and / stays a 404.
web_note="Web app:             not built (npm is missing; install Node.js 20+)"
if command -v npm >/dev/null 2>&1; then
  ( cd local/web
    [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
    npm run --silent build )
  export WEB_DIR=${WEB_DIR:-$ROOT/local/web/dist}
  web_note="Web app:             http://localhost:${PORT:-3501}   (sign in as the demo user, talk to the echo agent)"
fi

# Web Push works out of the box: keys are generated once into .local/.
if [ -z "${VAPID_PUBLIC_KEY:-}" ]; then
  [ -f .local/vapid.env ] || .local/bin/ari-local vapid > .local/vapid.env
  set -a; . .local/vapid.env; set +a
fi

.local/bin/ari-local migrate

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$started_services" ]; then bash local/scripts/services.sh stop "$DEV"; fi
  exit "${1:-0}"
}
trap cleanup INT TERM EXIT

# Local A2A agents run on this machine: let the relay call loopback/private addresses.
export A2A_ALLOW_PRIVATE_NETWORKS=${A2A_ALLOW_PRIVATE_NETWORKS:-true}
PORT=${PORT:-3501}
RELAY_PORT=${RELAY_PORT:-3502}
export PORT RELAY_PORT RELAY_URL=${RELAY_URL:-http://127.0.0.1:$RELAY_PORT}
# Mail (verification, password reset): a loopback catcher keeps every mail in
# a folder unless SMTP_URL points at a real server.
MAIL_PORT=${MAIL_PORT:-2525}
if [ -z "${SMTP_URL:-}" ]; then
  export SMTP_URL="smtp://127.0.0.1:$MAIL_PORT"
  .local/bin/ari-local mailcatcher -addr "127.0.0.1:$MAIL_PORT" -dir "$DEV/mail" >>"$DEV/mail.log" 2>&1 & pids+=($!)
  mail_note="Mail:                $DEV/mail/ (one .txt per mail, links clickable; list in $DEV/mail.log)"
else
  mail_note="Mail:                sent through $(sed -E 's#//[^@/]*@#//***@#' <<<"$SMTP_URL")"
fi
.local/bin/relay >>"$DEV/relay.log" 2>&1 & pids+=($!)
.local/bin/ari-local serve >>"$DEV/shim.log" 2>&1 & pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
if [ -x .local/bin/echoagent ] && [ -f local/echoagent/main.go ]; then
  .local/bin/ari-local demo > "$DEV/demo.env" && set -a && . "$DEV/demo.env" && set +a
  ARI_RELAY_URL="ws://127.0.0.1:$RELAY_PORT/ws/agent" .local/bin/echoagent >>"$DEV/echoagent.log" 2>&1 & pids+=($!)
  # The same example agent as Parrot, the demo group's second agent.
  if [ -n "${PARROT_AGENT_TOKEN:-}" ]; then
    ARI_AGENT_TOKEN=$PARROT_AGENT_TOKEN ARI_RELAY_URL="ws://127.0.0.1:$RELAY_PORT/ws/agent" \
      .local/bin/echoagent >>"$DEV/parrot.log" 2>&1 & pids+=($!)
  fi
fi

cat <<MSG

Ari is running.
  $web_note
  API (all functions): http://localhost:$PORT        health: http://localhost:$PORT/health
  Client WebSocket:    ws://localhost:$PORT/ws       agents: ws://localhost:$PORT/ws/agent
  Relay (direct):      http://localhost:$RELAY_PORT/health
  Logs:                $DEV/*.log
  $mail_note
$( [ -f "$DEV/demo.env" ] && sed -n 's/^# //p' "$DEV/demo.env" )
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
echo "a process exited; see $DEV/*.log"
cleanup 1
