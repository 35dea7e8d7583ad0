#!/usr/bin/env bash
# Build the operator image (`make image`).
#
# With a Docker daemon: `docker buildx build --load` (or `docker build`) with the Dockerfile's
# default base, python:3.11-slim-bookworm.
#
# Without one (no daemon, no reachable registry, as on the project's build machines): a Debian
# bookworm base with Python 3.11 is built from Debian packages with mmdebstrap (the tarball is
# cached), imported with buildah into vfs storage under the work directory, and the same
# Dockerfile is built with `buildah bud --isolation chroot`. The result is smoke-tested
# (uid 65532, `cloudinfer --version`) and exported as an OCI layout.
#
# In both cases the wheelhouse is built on the host first (hack/wheelhouse.sh): the Dockerfile
# installs offline.
#
# Environment:
#   IMAGE            image name (default localhost/cloudinfer:dev)
#   IMAGE_BUILDER    auto | docker | buildah (default auto: docker when its daemon answers)
#   IMAGE_WORK_DIR   buildah storage and the base tarball
#                    (default ${XDG_CACHE_HOME:-~/.cache}/cloudinfer/image)
#   IMAGE_OCI_DIR    OCI layout written by the buildah path (default dist/image)
#   BASE_REFRESH=1   rebuild the Debian base even if cached
#   IMAGE_SMOKE=0    skip the smoke test
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

image=${IMAGE:-localhost/cloudinfer:dev}
builder=${IMAGE_BUILDER:-auto}
work=${IMAGE_WORK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudinfer/image}
oci_dir=${IMAGE_OCI_DIR:-dist/image}
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -n 1)

suite=bookworm
base_image=localhost/bookworm-python:3.11
base_packages=python3,python3-venv,ca-certificates,tzdata,passwd
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf '==> %s\n' "$*" >&2; }

docker_daemon() {
    command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

if [[ $builder == auto ]]; then
    if docker_daemon; then builder=docker; else builder=buildah; fi
fi

log "wheelhouse"
hack/wheelhouse.sh

if [[ $builder == docker ]]; then
    build_args=(--build-arg "VERSION=$version" -t "$image")
    if [[ -n ${BASE:-} ]]; then build_args+=(--build-arg "BASE=$BASE"); fi
    if docker buildx version >/dev/null 2>&1; then
        log "docker buildx build $image"
        docker buildx build --load "${build_args[@]}" .
    else
        log "docker build $image"
        docker build "${build_args[@]}" .
    fi
    exit 0
fi
if [[ $builder != buildah ]]; then
    echo "IMAGE_BUILDER must be auto, docker or buildah, not $builder" >&2
    exit 2
fi

# --- buildah path -------------------------------------------------------------------------

ensure_tools() {
    local missing=()
    command -v buildah >/dev/null 2>&1 || missing+=(buildah)
    command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "no Docker daemon, and ${missing[*]} missing: install them (Debian/Ubuntu:" \
            "apt-get install buildah mmdebstrap) or run with a Docker daemon" >&2
        exit 1
    fi
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

ensure_tools
mkdir -p "$work/base"
bah=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)

# The base tarball is keyed by what goes into it; BASE_REFRESH=1 picks up security updates.
key=$(printf '%s\n' "$suite" "$base_packages" "$mirror" "$security_mirror" |
    sha256sum | cut -c1-12)
tarball=$work/base/$suite-python-$key.tar
if [[ ${BASE_REFRESH:-0} == 1 ]]; then rm -f "$tarball"; fi
if [[ ! -f $tarball ]]; then
    log "mmdebstrap $suite ($base_packages)"
    rm -f "$work"/base/*.tar "$work"/base/*.imported
    mmdebstrap --variant=minbase --format=tar --include="$base_packages" \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        "$suite" "$tarball.tmp" \
        "deb $mirror $suite main" \
        "deb $mirror $suite-updates main" \
        "deb $security_mirror $suite-security main"
    mv "$tarball.tmp" "$tarball"
fi

# Import the tarball once per tarball (the stamp) and whenever the storage lost the image.
stamp=$tarball.imported
if [[ ! -f $stamp ]] || ! "${bah[@]}" inspect --type image "$base_image" >/dev/null 2>&1; then
    log "import $tarball as $base_image"
    ctr=$("${bah[@]}" from scratch)
    "${bah[@]}" add "$ctr" "$tarball" /
    "${bah[@]}" config \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 \
        --cmd python3 \
        --label "org.opencontainers.image.description=Debian $suite ($base_packages), mmdebstrap" \
        "$ctr"
    "${bah[@]}" commit --rm --quiet "$ctr" "$base_image" >/dev/null
    touch "$stamp"
fi

log "buildah bud $image (base $base_image)"
# No --layers: on vfs every cached step is a full copy of the root filesystem, and the step that
# matters (pip install) reruns anyway whenever the project's wheel changes.
"${bah[@]}" bud --isolation chroot --pull-never --network host \
    --build-arg "BASE=$base_image" --build-arg "VERSION=$version" \
    -t "$image" .
"${bah[@]}" rmi --prune >/dev/null 2>&1 || true  # the previous build's image, now untagged

if [[ ${IMAGE_SMOKE:-1} != 0 ]]; then
    log "smoke test"
    ctr=$("${bah[@]}" from --pull-never "$image")
    trap '"${bah[@]}" rm "$ctr" >/dev/null' EXIT
    uid=$("${bah[@]}" run --isolation chroot "$ctr" -- id -u)
    if [[ $uid != 65532 ]]; then
        echo "image runs as uid $uid, expected 65532" >&2
        exit 1
    fi
    "${bah[@]}" run --isolation chroot "$ctr" -- id
    "${bah[@]}" run --isolation chroot "$ctr" -- cloudinfer --version
fi

tag=${image##*:}
if [[ $tag == "$image" || $tag == */* ]]; then tag=latest; fi
log "export $oci_dir:$tag (OCI layout)"
rm -rf "${oci_dir:?}"  # one image in the layout, not every build's
mkdir -p "$oci_dir"
"${bah[@]}" push --quiet "$image" "oci:$oci_dir:$tag"
log "done: $image; storage: ${bah[*]:1}"
