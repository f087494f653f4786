# Sourced by the run_*.sh scripts, on their arguments: answers --help with
# the script's head comment (tools/script_help.sh), sets root (the
# source tree) and build (BUILD_DIR, their first argument unless it is an
# option, then shifted away; default build; relative to root), and sets
# the build directory up with meson if it is missing.
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/script_help.sh"
build=build
case "${1:-}" in -*|"") ;; *) build=$1; shift ;; esac
case "$build" in /*) ;; *) build=$root/$build ;; esac
[ -d "$build" ] || meson setup "$build" "$root" >/dev/null
