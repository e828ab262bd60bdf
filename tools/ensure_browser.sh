#!/bin/sh
# Install what the browser tests and `make screenshots` need, on a fresh machine (CI runs as root with
# network to apt, PyPI and npm): Debian's chromium (driven by Playwright for Python through its
# executable_path, never `playwright install`) and axe-core from npm into the git-ignored .browser/.
set -e
cd "$(dirname "$0")/.."
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "ensure_browser: $CHROMIUM is missing and apt-get is not available as root" >&2
        exit 1
    fi
fi
if [ ! -f .browser/node_modules/axe-core/axe.min.js ]; then
    mkdir -p .browser
    npm install --silent --no-save --no-audit --no-fund --prefix .browser axe-core@4 >/dev/null
fi
