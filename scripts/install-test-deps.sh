#!/bin/sh
# Install what the test suite needs beyond Rust: Chromium, for the HTML report test
# (tests/html_browser.rs). Idempotent; runs as root without a TTY (CI). Debian/Ubuntu only.
set -eu

if [ -x /usr/bin/chromium ]; then
    echo "install-test-deps: chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: apt-get not found; install Chromium (/usr/bin/chromium) by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "install-test-deps: not root and no sudo; cannot install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
echo "install-test-deps: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
