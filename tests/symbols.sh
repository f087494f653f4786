#!/bin/sh
# The library's public surface, checked against its headers:
#   1. every symbol libtensorgrad.so exports starts with tg_;
#   2. every function a public header declares is marked TG_API;
#   3. every TG_API function is exported, and every exported symbol is a
#      TG_API function of a public header (nothing leaks past the headers);
#   4. every function a public header declares has a comment: right above
#      it, or above the group of declarations it belongs to (no blank line
#      between), or after it on its line.
# Public headers: the *.h of the layer folders outside internal/.
#   tests/symbols.sh LIBTENSORGRAD_SO SOURCE_ROOT
set -eu
case $1 in /*) lib=$1 ;; *) lib=$PWD/$1 ;; esac
root=$2
if [ ! -f "$lib" ]; then
    echo "symbols: no library at $lib"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Top-level function declarations of a C header, one a line:
# "<name> <marked> <commented> <declaration>" (tests/public_decls.awk).
declarations() {
    awk -f "$root/tests/public_decls.awk" "$1"
}

cd "$root"
find tensor dist autograd nn data models train -name '*.h' ! -path '*/internal/*' | sort > "$work/headers"
: > "$work/declared"
failed=0
while read -r h; do
    declarations "$h" > "$work/one"
    awk -v h="$h" '$2 == 0 { print "  " h ": " $1 }' "$work/one" >> "$work/unmarked"
    awk -v h="$h" '$3 == 0 { print "  " h ": " $1 }' "$work/one" >> "$work/uncommented"
    awk '$2 == 1 { print $1 }' "$work/one" >> "$work/declared"
done < "$work/headers"
sort -u "$work/declared" -o "$work/declared"
touch "$work/unmarked" "$work/uncommented"
nm -D --defined-only "$lib" | awk '{ print $NF }' | sort -u > "$work/exported"
if [ ! -s "$work/exported" ] || [ ! -s "$work/declared" ]; then
    echo "symbols: nothing exported by $lib or nothing declared under $root"
    exit 1
fi

report() { # report TITLE FILE
    if [ -s "$2" ]; then
        echo "$1:"
        sed 's/^ */  /' "$2"
        failed=1
    fi
}
grep -v '^tg_' "$work/exported" > "$work/unprefixed" || true
comm -23 "$work/declared" "$work/exported" > "$work/unexported"
comm -13 "$work/declared" "$work/exported" | grep '^tg_' > "$work/unlisted" || true
report "exported without the tg_ prefix" "$work/unprefixed"
report "declared in a public header without TG_API" "$work/unmarked"
report "declared with TG_API but not exported" "$work/unexported"
report "exported but declared with TG_API in no public header" "$work/unlisted"
report "declared in a public header with no comment above it or its group" "$work/uncommented"
if [ $failed -ne 0 ]; then exit 1; fi
echo "symbols: $(wc -l < "$work/exported") exported, all tg_; $(wc -l < "$work/declared") TG_API functions in $(wc -l < "$work/headers") public headers, all exported and commented"
