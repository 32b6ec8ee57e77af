# shellcheck shell=bash
# The real engines of tests/engines: a private Ray head node (its dashboard serves the Job
# Submission API), and Celery (Debian's redis-server, a worker, Flower). Sourced, not run:
#
#   source .ci/engines/engines.sh
#   engines_install              # redis-server (apt) and .engines-venv/ (pinned, see requirements.txt)
#   trap engines_stop EXIT
#   engines_start ray flower     # exports ASYNCJOBS_RAY_URL, ASYNCJOBS_FLOWER_URL, ...
#   ...
#   engines_stop                 # stops everything engines_start started (idempotent)
#
# .ci/run uses it so; .ci/engines/with-engines wraps it around one command for developers.
#
# Everything listens on 127.0.0.1 on free ports (a few of Ray's internal ports listen on all
# interfaces whatever the flags), keeps its files in one temporary directory, and carries
# ASYNCJOBS_ENGINES_TAG=<random> in its environment: engines_stop stops exactly the processes
# with that tag (stop_tagged.py), never another user's Ray, Celery or Redis. `ray stop` is not
# used for that reason: it stops every Ray on the machine.
#
# Exported for the tests:
#   ASYNCJOBS_RAY_URL       http://127.0.0.1:PORT   (Client(url, profile="ray"))
#   ASYNCJOBS_RAY_PYTHON    the engines venv's python, for entrypoints (`python` would be the system one)
#   ASYNCJOBS_FLOWER_URL    http://127.0.0.1:PORT   (Client(url, profile="flower", token=...))
#   ASYNCJOBS_FLOWER_AUTH   user:password (Flower's --basic_auth)
#   ASYNCJOBS_CELERY_BROKER redis://127.0.0.1:PORT/0 (broker and result backend)

ENGINES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENGINES_REPO="$(cd "$ENGINES_DIR/../.." && pwd)"
ENGINES_VENV="${ASYNCJOBS_ENGINES_VENV:-$ENGINES_REPO/.engines-venv}"
ENGINES_CELERY_APP="$ENGINES_REPO/tests/engines/celery_app"
ENGINES_FLOWER_AUTH="${ASYNCJOBS_FLOWER_AUTH:-user:password}"
# Where start logs are copied at stop, for a failed run to be read afterwards.
ENGINES_LOGS="$ENGINES_REPO/build/engines-logs"
ENGINES_TAG=""
ENGINES_TMP=""

_engines_say() { echo "engines: $*"; }

_engines_sudo() {
  if [ "$(id -u)" -ne 0 ]; then sudo "$@"; else "$@"; fi
}

# Free TCP ports on 127.0.0.1, all distinct: held open together, then released.
_engines_free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

# Run a command with this run's tag, detached from the terminal's signals (engines_stop stops it).
_engines_spawn() {
  local log="$1"
  shift
  env ASYNCJOBS_ENGINES_TAG="$ENGINES_TAG" setsid "$@" >"$log" 2>&1 </dev/null &
}

_engines_tail_logs() {
  local file
  for file in "$@"; do
    [ -f "$file" ] || continue
    echo "---- last lines of $file"
    tail -n 40 "$file"
  done
}

# redis-server from Debian (apt) when missing, and the engines venv from requirements.txt when
# it is missing or was made from other pins (a stamp records which).
engines_install() {
  local started=$SECONDS step
  if ! command -v redis-server >/dev/null; then
    step=$SECONDS
    _engines_sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive _engines_sudo apt-get install -y -qq redis-server >/dev/null
    _engines_say "installed redis-server with apt in $((SECONDS - step)) s"
  fi
  _engines_say "$(redis-server --version | cut -d' ' -f1-3)"

  local stamp
  stamp="$(cat "$ENGINES_DIR/requirements.txt" <(python3 --version) | sha256sum | cut -d' ' -f1)"
  if [ -x "$ENGINES_VENV/bin/python" ] && [ "$(cat "$ENGINES_VENV/.stamp" 2>/dev/null)" = "$stamp" ]; then
    _engines_say "reusing $ENGINES_VENV (same pins)"
  else
    step=$SECONDS
    rm -rf "$ENGINES_VENV"
    python3 -m venv "$ENGINES_VENV"
    # This machine's pip configuration names local indexes that may not exist: quiet that.
    "$ENGINES_VENV/bin/pip" install -q -r "$ENGINES_DIR/requirements.txt" \
      2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    echo "$stamp" >"$ENGINES_VENV/.stamp"
    _engines_say "installed $(grep -cE '^[a-z]' "$ENGINES_DIR/requirements.txt") pinned engine packages into $ENGINES_VENV in $((SECONDS - step)) s"
  fi
  _engines_say "$("$ENGINES_VENV/bin/pip" list 2>/dev/null | grep -iE '^(ray|celery|flower|kombu|redis) ' | tr -s ' ' | paste -sd, -)"
  _engines_say "install step took $((SECONDS - started)) s"
}

_engines_start_ray() {
  local started=$SECONDS ports gcs dashboard client agent agent_grpc runtime_env metrics node_manager object_manager
  ports="$(_engines_free_ports 9)"
  read -r gcs dashboard client agent agent_grpc runtime_env metrics node_manager object_manager <<<"$ports"
  mkdir -p "$ENGINES_TMP/ray"
  # `ray start` returns once its daemons are launched; they carry the tag.
  if ! env ASYNCJOBS_ENGINES_TAG="$ENGINES_TAG" RAY_USAGE_STATS_ENABLED=0 setsid \
    "$ENGINES_VENV/bin/ray" start --head --num-cpus=2 \
    --include-dashboard=true --dashboard-host=127.0.0.1 --dashboard-port="$dashboard" \
    --node-ip-address=127.0.0.1 --port="$gcs" --ray-client-server-port="$client" \
    --dashboard-agent-listen-port="$agent" --dashboard-agent-grpc-port="$agent_grpc" \
    --runtime-env-agent-port="$runtime_env" --metrics-export-port="$metrics" \
    --node-manager-port="$node_manager" --object-manager-port="$object_manager" \
    --object-store-memory=200000000 --disable-usage-stats \
    --temp-dir="$ENGINES_TMP/ray" >"$ENGINES_TMP/ray-start.log" 2>&1 </dev/null; then
    _engines_say "ray start failed"
    _engines_tail_logs "$ENGINES_TMP/ray-start.log"
    return 1
  fi
  if ! python3 "$ENGINES_DIR/wait_ready.py" http "http://127.0.0.1:$dashboard/api/jobs/" --timeout 120; then
    _engines_tail_logs "$ENGINES_TMP/ray-start.log" "$ENGINES_TMP"/ray/session_latest/logs/dashboard.log
    return 1
  fi
  export ASYNCJOBS_RAY_URL="http://127.0.0.1:$dashboard"
  export ASYNCJOBS_RAY_PYTHON="$ENGINES_VENV/bin/python"
  _engines_say "Ray ready in $((SECONDS - started)) s: ASYNCJOBS_RAY_URL=$ASYNCJOBS_RAY_URL"
}

_engines_start_flower() {
  local started=$SECONDS ports redis flower broker
  ports="$(_engines_free_ports 2)"
  read -r redis flower <<<"$ports"
  mkdir -p "$ENGINES_TMP/redis"
  # --set-proc-title no: redis's process title overwrites its environment, tag included.
  _engines_spawn "$ENGINES_TMP/redis.log" redis-server --port "$redis" --bind 127.0.0.1 \
    --save '' --appendonly no --dir "$ENGINES_TMP/redis" \
    --set-proc-title no
  if ! python3 "$ENGINES_DIR/wait_ready.py" tcp "$redis" --timeout 30; then
    _engines_tail_logs "$ENGINES_TMP/redis.log"
    return 1
  fi
  broker="redis://127.0.0.1:$redis/0"
  # The worker and Flower import the app (-A tasks) from tests/engines/celery_app.
  (
    cd "$ENGINES_CELERY_APP" || exit 1
    export PYTHONPATH="$ENGINES_CELERY_APP" ASYNCJOBS_CELERY_BROKER="$broker"
    _engines_spawn "$ENGINES_TMP/celery-worker.log" "$ENGINES_VENV/bin/celery" -A tasks worker \
      -c 2 -E --loglevel=warning --hostname="asyncjobs-engines@%h" --without-gossip --without-mingle
    _engines_spawn "$ENGINES_TMP/flower.log" "$ENGINES_VENV/bin/celery" -A tasks flower \
      --address=127.0.0.1 --port="$flower" --basic_auth="$ENGINES_FLOWER_AUTH"
  )
  # Ready when Flower answers with auth and knows the worker.
  if ! python3 "$ENGINES_DIR/wait_ready.py" http "http://127.0.0.1:$flower/api/workers?refresh=1" \
    --auth "$ENGINES_FLOWER_AUTH" --contains "asyncjobs-engines@" --timeout 60; then
    _engines_tail_logs "$ENGINES_TMP/redis.log" "$ENGINES_TMP/celery-worker.log" "$ENGINES_TMP/flower.log"
    return 1
  fi
  export ASYNCJOBS_FLOWER_URL="http://127.0.0.1:$flower"
  export ASYNCJOBS_FLOWER_AUTH="$ENGINES_FLOWER_AUTH"
  export ASYNCJOBS_CELERY_BROKER="$broker"
  _engines_say "Celery (redis, worker, Flower) ready in $((SECONDS - started)) s: ASYNCJOBS_FLOWER_URL=$ASYNCJOBS_FLOWER_URL"
}

# engines_start [ray] [flower]   (no argument: both)
engines_start() {
  local engine started=$SECONDS
  if [ -n "$ENGINES_TAG" ]; then
    _engines_say "already started (tag $ENGINES_TAG)"
    return 1
  fi
  if [ ! -x "$ENGINES_VENV/bin/ray" ]; then
    _engines_say "no engines venv at $ENGINES_VENV: run engines_install first"
    return 1
  fi
  ENGINES_TAG="$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
  # Short: Ray's socket paths under it must stay within the 107 bytes of a Unix socket path.
  ENGINES_TMP="$(mktemp -d /tmp/aje.XXXXXX)"
  _engines_say "tag $ENGINES_TAG, files in $ENGINES_TMP"
  for engine in "${@:-ray flower}"; do
    for engine in $engine; do
      case "$engine" in
        ray) _engines_start_ray || return 1 ;;
        flower | celery) _engines_start_flower || return 1 ;;
        *)
          _engines_say "unknown engine '$engine' (ray, flower)"
          return 1
          ;;
      esac
    done
  done
  _engines_say "started in $((SECONDS - started)) s"
}

# Stop every process this run started (by its tag), keep a copy of the logs, remove the files.
engines_stop() {
  [ -n "$ENGINES_TAG" ] || return 0
  local started=$SECONDS
  python3 "$ENGINES_DIR/stop_tagged.py" "$ENGINES_TAG" || true
  if [ -d "$ENGINES_TMP" ]; then
    rm -rf "$ENGINES_LOGS"
    mkdir -p "$ENGINES_LOGS"
    cp "$ENGINES_TMP"/*.log "$ENGINES_LOGS"/ 2>/dev/null || true
    cp "$ENGINES_TMP"/ray/session_latest/logs/{dashboard,dashboard_JobHead,raylet,gcs_server}.* \
      "$ENGINES_TMP"/ray/session_latest/logs/job-driver-*.log "$ENGINES_LOGS"/ 2>/dev/null || true
    rm -rf "$ENGINES_TMP"
  fi
  _engines_say "stopped in $((SECONDS - started)) s (logs kept in ${ENGINES_LOGS#"$ENGINES_REPO"/})"
  ENGINES_TAG=""
  ENGINES_TMP=""
  unset ASYNCJOBS_RAY_URL ASYNCJOBS_RAY_PYTHON ASYNCJOBS_FLOWER_URL ASYNCJOBS_FLOWER_AUTH \
    ASYNCJOBS_CELERY_BROKER
}
