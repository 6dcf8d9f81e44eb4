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
    log "installing dependencies"
    "$BIN/python" -m pip install --quiet --upgrade pip
    # CPU torch first, so nothing pulls a CUDA build.
    "$BIN/pip" install --quiet torch==2.13.0
    install_llama_cpp
    "$BIN/pip" install --quiet -e '.[models,dev]'
    echo "$want" > "$VENV/.installed"
  fi
  install_llama_cpp
}

# llama.cpp compiles with -march=native. Some virtual CPUs advertise AMX (amx_tile in /proc/cpuinfo) that the
# kernel does not let a process use: the first token then dies with "Illegal instruction" (tilezero in
# libggml-cpu). So it is built without AMX; AVX-512/AVX2 stay.
LLAMA_CFLAGS=""
[ "$(uname -m)" = x86_64 ] && LLAMA_CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"

install_llama_cpp() {
  # Only when .venv's build is not already one with these flags (an older .venv, or a fresh one); with
  # no flags to add (not x86-64) the project's own install below builds it as it is.
  [ "$(cat "$VENV/.llama-build" 2>/dev/null || true)" = "$LLAMA_CFLAGS" ] && return 0
  log "building llama-cpp-python for this CPU, without AMX (6-11 minutes)"
  "$BIN/pip" uninstall --quiet --yes llama-cpp-python >/dev/null 2>&1 || true
  # --no-cache-dir: a wheel that an earlier build (with AMX) left in pip's cache must not be reused.
  CFLAGS="${CFLAGS:-} $LLAMA_CFLAGS" CXXFLAGS="${CXXFLAGS:-} $LLAMA_CFLAGS" \
    "$BIN/pip" install --quiet --no-cache-dir "llama-cpp-python>=0.3"
  echo "$LLAMA_CFLAGS" > "$VENV/.llama-build"
}

# Tesseract with its Swedish model reads scanned PDFs and images at ingest. Without it those files are skipped with
# a reason (everything else is indexed), so a machine where it cannot be installed still works.
install_ocr() {
  if command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx swe; then return 0; fi
  [ "${RAG_OCR:-tesseract}" = off ] && return 0
  local sudo=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
  fi
  if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
    log "Tesseract (OCR) is missing: scanned PDFs and images are skipped until you install tesseract-ocr and tesseract-ocr-swe"
    return 0
  fi
  log "installing Tesseract with its Swedish model (reads scanned PDFs and images)"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      tesseract-ocr tesseract-ocr-swe >/dev/null; }; then
    log "could not install Tesseract: scanned PDFs and images are skipped until tesseract-ocr and tesseract-ocr-swe are installed"
  fi
}

setup() {
  install_python
  install_ocr
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
