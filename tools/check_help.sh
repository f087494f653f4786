#!/bin/sh
# Checks that a program answers --help and -h with its usage: exit status 0
# and something on stdout. The meson tests of suites bench and tools run it
# on every program and script there.
#   tools/check_help.sh PROGRAM [ARGUMENTS...]
# e.g. tools/check_help.sh /usr/bin/python3 tools/convert_checkpoint.py
set -eu
. "$(dirname "$0")/script_help.sh"
[ $# -gt 0 ] || { echo "usage: $0 PROGRAM [ARGUMENTS...]" >&2; exit 2; }
for flag in --help -h; do
    status=0
    out=$("$@" "$flag") || status=$?
    if [ $status -ne 0 ]; then
        echo "check_help: '$* $flag' exits with status $status" >&2
        exit 1
    fi
    if [ -z "$out" ]; then
        echo "check_help: '$* $flag' prints nothing on stdout" >&2
        exit 1
    fi
done
echo "$* answers --help and -h"
