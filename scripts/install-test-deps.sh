#!/bin/sh
# Install what the test suite needs beyond Rust: Chromium and ChromeDriver, for the HTML report
# tests (tests/html_browser.rs, tests/html_interactive.rs), man (the man page test in tests/cli.rs), and Python's prometheus_client, the independent OpenMetrics parser of
# the live /metrics test (tests/metrics.rs; Debian's package, for /usr/bin/python3: no pip into
# an externally managed Python), and kubernetes-validate, the offline Kubernetes schema check of
# deploy/k8s/ (tests/deploy.rs), pinned, in a virtual environment of its own under target/py-venv
# (pip may not install into Debian's Python; Debian's python3-venv makes the environment).
# Idempotent: installs only what is missing; runs as root without a TTY (CI). Debian/Ubuntu only.
set -eu
cd "$(dirname "$0")/.."

# Keep in step with tests/deploy.rs, which names the version it expects.
KUBERNETES_VALIDATE_VERSION=1.37.0
VENV=target/py-venv

missing=""
if [ -x /usr/bin/chromium ]; then
    echo "install-test-deps: chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
else
    missing="$missing chromium fonts-dejavu-core"
fi
if [ -x /usr/bin/chromedriver ]; then
    echo "install-test-deps: chromedriver present (drives the charts in tests/html_interactive.rs)"
else
    missing="$missing chromium-driver"
fi
if command -v man >/dev/null 2>&1 && command -v bash >/dev/null 2>&1; then
    echo "install-test-deps: man present (renders the man page in tests/cli.rs)"
else
    missing="$missing man-db bash"
fi
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
    echo "install-test-deps: python3 prometheus_client present"
else
    missing="$missing python3 python3-prometheus-client"
fi
if /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "install-test-deps: python3 venv present"
else
    missing="$missing python3-venv"
fi

# The virtual environment with kubernetes-validate, after any package it needs.
install_venv() {
    if [ -x "$VENV/bin/kubernetes-validate" ] &&
        [ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null)" = "$KUBERNETES_VALIDATE_VERSION" ]; then
        echo "install-test-deps: kubernetes-validate $KUBERNETES_VALIDATE_VERSION present ($VENV)"
        return
    fi
    rm -rf "$VENV"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    echo "install-test-deps: installed kubernetes-validate $KUBERNETES_VALIDATE_VERSION in $VENV"
}

if [ -z "$missing" ]; then
    install_venv
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: apt-get not found; install by hand:$missing" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "install-test-deps: not root and no sudo; cannot install:$missing" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# shellcheck disable=SC2086 # a list of package names
$SUDO apt-get install -y --no-install-recommends $missing
echo "install-test-deps: installed$missing"
install_venv
