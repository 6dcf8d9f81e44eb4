#!/usr/bin/env bash
# Test-only dependencies: Debian's Chromium, Playwright for Python and axe-core (tests/browser); the tools that let the
# PostgreSQL tests run the wheel's server as an unprivileged user when they run as root (useradd, runuser); and the
# tools that make the document tests' files (tests/documents): LibreOffice (writer, headless) with Swedish hyphenation
# for .pdf/.docx/.odt, Poppler's pdftoppm and img2pdf for image-only scans, qpdf for a password-protected PDF.
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
if ! command -v soffice >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1 || ! command -v img2pdf >/dev/null 2>&1 \
  || ! command -v qpdf >/dev/null 2>&1 || [ ! -d /usr/share/hyphen ] || ! ls /usr/share/hyphen/hyph_sv* >/dev/null 2>&1; then
  log "installing LibreOffice, Poppler, img2pdf, qpdf and Swedish hyphenation (to make the document tests' files)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    libreoffice-writer-nogui poppler-utils img2pdf qpdf hyphen-sv
fi
# Tesseract is a runtime dependency (./run.sh setup installs it); the OCR tests need it too.
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx swe; then
  log "installing Tesseract with its Swedish model (the OCR tests)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-swe
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
