#!/usr/bin/env bash
# Build the wheelhouse the Dockerfile installs from, offline: the project's wheel plus binary
# wheels of every dependency for each target platform (docker spelling: linux/amd64,
# linux/arm64). pip resolves per platform, so an arm64 image gets aarch64 wheels even though this
# runs on amd64. Pure-Python wheels are shared.
#
#   hack/wheelhouse.sh                          # the host's platform
#   hack/wheelhouse.sh linux/amd64 linux/arm64  # what the release workflow builds
#
# Environment: WHEELHOUSE (default dist/wheelhouse), PYTHON (default .venv/bin/python, else
# python3), PYTHON_VERSION (default 3.11: the base image's Python), GLIBC_MINOR (default 36:
# bookworm's glibc 2.36; wheels needing a newer glibc are refused).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

wheelhouse=${WHEELHOUSE:-dist/wheelhouse}
python_version=${PYTHON_VERSION:-3.11}
glibc_minor=${GLIBC_MINOR:-36}
if [[ -n ${PYTHON:-} ]]; then
    python=$PYTHON
elif [[ -x .venv/bin/python ]]; then
    python=.venv/bin/python
else
    python=python3
fi

host_platform() {
    case $(uname -m) in
        x86_64) echo linux/amd64 ;;
        aarch64 | arm64) echo linux/arm64 ;;
        *) echo "unsupported host architecture $(uname -m)" >&2; return 1 ;;
    esac
}

# pip matches --platform tags literally (it only expands the legacy manylinux2014/2010 names),
# so list every manylinux_2_N the base's glibc accepts.
platform_args() {
    local arch=$1 minor
    for ((minor = glibc_minor; minor >= 17; minor--)); do
        printf -- '--platform\nmanylinux_2_%s_%s\n' "$minor" "$arch"
    done
    printf -- '--platform\nmanylinux2014_%s\n--platform\nlinux_%s\n' "$arch" "$arch"
}

platforms=("$@")
if ((${#platforms[@]} == 0)); then
    platforms=("$(host_platform)")
fi

rm -rf "$wheelhouse"
mkdir -p "$wheelhouse"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$wheelhouse" .
project_wheel=$(find "$wheelhouse" -maxdepth 1 -name 'cloudinfer-*.whl' -print -quit)

for platform in "${platforms[@]}"; do
    case $platform in
        linux/amd64) arch=x86_64 ;;
        linux/arm64) arch=aarch64 ;;
        *) echo "unsupported platform $platform (linux/amd64, linux/arm64)" >&2; exit 2 ;;
    esac
    mapfile -t args < <(platform_args "$arch")
    "$python" -m pip download --quiet --only-binary=:all: --implementation cp \
        --python-version "$python_version" "${args[@]}" --dest "$wheelhouse" "$project_wheel"
done

echo "wheelhouse: $wheelhouse ($(find "$wheelhouse" -name '*.whl' | wc -l) wheels for" \
    "${platforms[*]})" >&2
