#!/bin/sh
# Build the container image from the Dockerfile with podman or docker (whichever is installed
# and answers), then run `--version` and `demo` (a bounded run against the embedded target on
# the container's own loopback) in it and check it runs as a non-root user. Not part of CI:
# the build compiles the whole project in the container (minutes of CPU).
#
#   scripts/container.sh                 # image qpsbench:VERSION
#   ENGINE=docker scripts/container.sh   # choose the engine
#   IMAGE=registry.example.com/qpsbench:0.1.0 scripts/container.sh
#   BUILD_FLAGS="--isolation chroot" scripts/container.sh   # extra flags for `build`
set -eu
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
IMAGE=${IMAGE:-qpsbench:$version}

engine=""
for e in ${ENGINE:-podman docker}; do
    if ! command -v "$e" >/dev/null 2>&1; then
        echo "container.sh: $e is not installed" >&2
        continue
    fi
    if why=$("$e" info 2>&1 >/dev/null); then
        engine=$e
        break
    fi
    echo "container.sh: $e is installed but does not answer: $(echo "$why" | tail -n 1)" >&2
done
if [ -z "$engine" ]; then
    echo "container.sh: no working container engine: install podman (apt-get install podman) or start docker's daemon" >&2
    exit 1
fi

revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "container.sh: building $IMAGE with $engine (revision $revision)"
start=$(date +%s)
# shellcheck disable=SC2086 # BUILD_FLAGS is a list of flags
"$engine" build ${BUILD_FLAGS:-} --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    -t "$IMAGE" .
echo "container.sh: built in $(($(date +%s) - start)) s"

user=$("$engine" image inspect --format '{{.Config.User}}' "$IMAGE")
case "${user%%:*}" in
    "" | 0 | root)
        echo "container.sh: the image runs as root (USER '$user')" >&2
        exit 1
        ;;
esac

out=$("$engine" run --rm "$IMAGE" --version)
echo "container.sh: --version: $out"
[ "$out" = "qpsbench $version" ] || {
    echo "container.sh: expected 'qpsbench $version'" >&2
    exit 1
}
id=$("$engine" run --rm --entrypoint id "$IMAGE" -u)
[ "$id" != 0 ] || {
    echo "container.sh: the container runs as root" >&2
    exit 1
}
echo "container.sh: runs as UID $id"
# demo: a short ramp against the embedded target, all on the container's loopback.
"$engine" run --rm "$IMAGE" demo
echo "container.sh: ok: $IMAGE"
