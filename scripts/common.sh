# Shared by the scripts: configure and build helpers. Sourced, not run.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${SSE_JOBS:-$(nproc)}

launcher=()
if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# configure DIR [cmake args...]: configures a build tree under the checkout.
configure() {
    local dir=$1
    shift
    cmake -S "$root" -B "$root/$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
}

# build DIR [targets...]
build() {
    local dir=$1
    shift
    local targets=()
    [[ $# -gt 0 ]] && targets=(--target "$@")
    cmake --build "$root/$dir" -j "$jobs" "${targets[@]}"
}
