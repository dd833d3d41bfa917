#!/usr/bin/env bash
# Build the sandbox image offline: a minimal Debian root (debootstrap) with python3 and
# ipykernel, node, gcc and g++ (the snippet languages), imported into Docker. No base image is pulled, so this works on hosts that
# reach only a Debian package mirror.
#
#   CODECRAFTER_SANDBOX_IMAGE   image name (default codecrafter-sandbox:latest)
#   CODECRAFTER_DEBIAN_MIRROR   Debian mirror (default: the one in this machine's apt sources)
#   CODECRAFTER_DEBIAN_SUITE    Debian suite (default bookworm)
#   CODECRAFTER_SANDBOX_PACKAGES  comma-separated packages (default: the languages' below)
#   CODECRAFTER_SANDBOX_PYPI      pure-Python packages from PyPI (default: ipywidgets 8)
#   CODECRAFTER_PIP               the pip that installs them (default: python3 -m pip)
#   CODECRAFTER_REBUILD=1       rebuild even if the image is up to date
#
# Idempotent: an image built from the same package list (its codecrafter.build label) is
# reused; a changed list rebuilds it. Quiet on success; on failure the log is shown.
set -euo pipefail

IMAGE="${CODECRAFTER_SANDBOX_IMAGE:-codecrafter-sandbox:latest}"
SUITE="${CODECRAFTER_DEBIAN_SUITE:-bookworm}"
# Explicit packages, no recommends. debootstrap resolves Depends but not virtual packages,
# so the providers of the two virtual ones in ipykernel's tree are named here
# (python3-zmq needs python3-cffi-backend-api-*, gdb's highlighter libboost-regex*-icu*).
# The languages of worker/sandbox/languages.py: gcc needs libc6-dev (only recommended) for
# its headers; g++ brings libstdc++'s.
PACKAGES="${CODECRAFTER_SANDBOX_PACKAGES:-python3,python3-ipykernel,python3-cffi-backend,libboost-regex1.74.0,ca-certificates,nodejs,gcc,g++,libc6-dev}"
# Debian's python3-ipywidgets (6.0) is too old for JupyterLab 4's widget manager: ipywidgets 8
# and comm, pure Python, go into the root's /usr/local with pip (ipywidgets 8.1 carries a
# shim for Debian's ipykernel 6.17); the frontend packages it names are not needed there.
PYPI_PACKAGES="${CODECRAFTER_SANDBOX_PYPI:-ipywidgets==8.1.9 comm==0.2.3}"
# Bumped when the steps below change what an image holds, so that older images are rebuilt.
RECIPE=2
BUILD_ID="$(printf '%s\n' "$RECIPE" "$SUITE" "$PACKAGES" "$PYPI_PACKAGES" | sha256sum | cut -c1-16)"
SANDBOX_UID=1000

die() { echo "build-sandbox-image: $*" >&2; exit 1; }

# The mirror of the suite itself (not -security/-updates), from deb822 or one-line sources.
apt_mirror() {
    local file
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -e "$file" ] || continue
        awk -v suite="$SUITE" '
            /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
            END { if (uri != "" && ok) print uri }
        ' "$file" | head -n1
    done
    if [ -e /etc/apt/sources.list ]; then
        # deb [options] URI suite components...
        sed -E 's/\[[^]]*\]//' /etc/apt/sources.list \
            | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
    fi
}

built_id() {
    docker image inspect --format '{{ index .Config.Labels "codecrafter.build" }}' "$IMAGE" 2>/dev/null
}
if [ "${CODECRAFTER_REBUILD:-0}" != "1" ] && [ "$(built_id)" = "$BUILD_ID" ]; then
    exit 0
fi
PREVIOUS="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info failed)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
[ "$(id -u)" = 0 ] || die "debootstrap needs root"

MIRROR="${CODECRAFTER_DEBIAN_MIRROR:-$(apt_mirror | head -n1)}"
[ -n "$MIRROR" ] || die "no Debian mirror for '$SUITE' in the apt sources; set CODECRAFTER_DEBIAN_MIRROR"

WORK="$(mktemp -d /var/tmp/codecrafter-sandbox.XXXXXX)"
LOG="$WORK/build.log"
ROOT="$WORK/root"
cleanup() { rm -rf "$WORK"; }
fail() {
    echo "build-sandbox-image: $1 failed; last lines of the log:" >&2
    tail -n 30 "$LOG" >&2 || true
    if [ -e "$ROOT/debootstrap/debootstrap.log" ]; then
        echo "build-sandbox-image: last lines of debootstrap.log:" >&2
        tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2
    fi
    exit 1
}
trap cleanup EXIT

debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$LOG" 2>&1 \
    || fail "debootstrap"

PY_SITE="$ROOT/usr/local/lib/$(basename "$(readlink -f "$ROOT/usr/bin/python3")")/dist-packages"
# shellcheck disable=SC2086 # the command and the package list are split on purpose
${CODECRAFTER_PIP:-python3 -m pip} install --quiet --no-deps --no-compile --target "$PY_SITE" \
    $PYPI_PACKAGES >>"$LOG" 2>&1 || fail "pip install --target ($PYPI_PACKAGES)"

# debugpy (a Depends of Debian's python3-ipykernel) costs each kernel start about 0.1 s of
# CPU (its import, and pkg_resources through pydevd), and nothing can use it: kernel
# channels relay no debug requests. ipykernel runs without it.
dpkg --root="$ROOT" --purge --force-depends python3-debugpy >>"$LOG" 2>&1 \
    || fail "removing python3-debugpy"

# The unprivileged user the sandboxes run as; home is the tmpfs.
echo "sandbox:x:$SANDBOX_UID:$SANDBOX_UID:sandbox:/tmp:/bin/bash" >>"$ROOT/etc/passwd"
echo "sandbox:x:$SANDBOX_UID:" >>"$ROOT/etc/group"
echo "sandbox:!:19000::::::" >>"$ROOT/etc/shadow"

# What the running image never needs: package caches, docs, manuals.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
    "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/*

tar --numeric-owner -C "$ROOT" -c . | docker import \
    --change "USER $SANDBOX_UID:$SANDBOX_UID" \
    --change "WORKDIR /tmp" \
    --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" \
    --change "ENV HOME=/tmp" \
    --change "ENV LANG=C.UTF-8" \
    --change "ENV PYTHONDONTWRITEBYTECODE=1" \
    --change 'CMD ["python3"]' \
    --change "LABEL codecrafter.build=$BUILD_ID" \
    --message "codecrafter sandbox ($SUITE, debootstrap)" \
    - "$IMAGE" >>"$LOG" 2>&1 || fail "docker import"

docker run --rm --network none "$IMAGE" sh -c \
    'python3 -c "import ipykernel.kernelapp, ipywidgets" && node --version && gcc --version && g++ --version' \
    >>"$LOG" 2>&1 || fail "checking the image (ipykernel, ipywidgets, node, gcc, g++)"

# A rebuild leaves the previous image untagged; drop it unless a container still uses it.
if [ -n "$PREVIOUS" ]; then
    docker image rm "$PREVIOUS" >/dev/null 2>&1 || true
fi
