#!/usr/bin/env bash
# Helsingborgs stads svarsassistent — one script for a fresh machine.
#   ./run.sh          set everything up (only what is missing or stale) and start the chat on http://127.0.0.1:7860
#   ./run.sh setup    set everything up, do not start
#   ./run.sh test     set everything up, then run the whole test suite (unit + integration tiers)
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=.venv
BIN=$VENV/bin

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_python() {
  if [ ! -x "$BIN/python" ]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  # Re-install only when the dependency list changed.
  local want have
  want=$(sha256sum pyproject.toml | cut -c1-16)
  have=$(cat "$VENV/.installed" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    log "installing dependencies (the first time builds llama-cpp-python from source: 6-11 minutes)"
    "$BIN/python" -m pip install --quiet --upgrade pip
    # CPU torch first, so nothing pulls a CUDA build.
    "$BIN/pip" install --quiet torch==2.13.0
    "$BIN/pip" install --quiet -e '.[models,dev]'
    echo "$want" > "$VENV/.installed"
  fi
}

setup() {
  install_python
  log "assembling and checking the default models"
  "$BIN/rag" models
  log "building the index if it is missing or stale"
  "$BIN/rag" ingest
}

case "${1:-start}" in
  start)
    setup
    log "starting the chat on http://127.0.0.1:7860"
    exec "$BIN/python" app.py
    ;;
  setup)
    setup
    ;;
  test)
    setup
    if [ -x scripts/install_test_deps.sh ]; then scripts/install_test_deps.sh; fi
    log "running the tests"
    exec "$BIN/python" -m pytest "${@:2}"
    ;;
  *)
    echo "usage: ./run.sh [start|setup|test]" >&2
    exit 2
    ;;
esac
