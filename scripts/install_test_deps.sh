#!/usr/bin/env bash
# Test-only dependencies: Debian's Chromium, Playwright for Python and axe-core (tests/browser), and the tools that let the
# PostgreSQL tests run the wheel's server as an unprivileged user when they run as root (useradd, runuser).
# Idempotent and fast when already done. Playwright's own browser download cannot work here, so we never run
# `playwright install`; the tests launch /usr/bin/chromium instead.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# chromium runs the tests; the emoji font only makes the screenshots in docs/ show 👍/📞 instead of boxes.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/noto ]; then
  log "installing Chromium from Debian (for the browser tests)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-color-emoji
fi

if [ "$(id -u)" = "0" ] && { ! command -v useradd >/dev/null 2>&1 || ! command -v runuser >/dev/null 2>&1; }; then
  log "installing useradd and runuser (PostgreSQL in the tests must not run as root)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends passwd util-linux
fi

PYBIN=${VENV:-.venv}/bin
if ! "$PYBIN/python" -c "import playwright.sync_api" >/dev/null 2>&1; then
  log "installing Playwright for Python (driver only; the browser is /usr/bin/chromium)"
  "$PYBIN/pip" install --quiet playwright
fi

# axe-core (the accessibility checks of tests/browser) from the npm registry, pinned by tests/browser/package-lock.json.
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1; then
    log "installing Node.js and npm from Debian (for axe-core in the browser tests)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  log "installing axe-core for the accessibility tests (tests/browser/node_modules)"
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi
