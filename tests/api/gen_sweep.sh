#!/bin/sh
# Writes the API sweep's C source (tests/api): for every function a public
# header declares with TG_API, one Check test that calls it once for each
# pointer parameter given NULL and each integer parameter given -1 and a
# huge value, the other arguments plausible (params.txt says which maker
# gives each), and checks the outcome (makers.h). Fails naming the function
# and the type of a parameter params.txt does not know.
#   gen_sweep.sh OUTPUT DECLS_AWK PARAMS_TXT HEADER...
set -eu
out=$1 decls=$2 table=$3
shift 3
for h in "$@"; do awk -f "$decls" "$h"; done | awk -v table="$table" '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function globs_match(list, word,   n, g, i, re) {
    n = split(list, g, / +/)
    for (i = 1; i <= n; i++) {
        re = g[i]; gsub(/[.+?()^$]/, "\\\\&", re); gsub(/\*/, ".*", re)
        if (word ~ ("^" re "$")) return 1
    }
    return 0
}
# Results match only lines of parameter "return", parameters only the others.
function line_matches(i, fn, param, type) {
    if ((param == "return") != (t_param[i] == "return")) return 0
    return globs_match(t_fn[i], fn) && globs_match(t_param[i], param) && (t_type[i] == "*" || t_type[i] == type)
}
# The first line with a sweep and the first with a value, into SWEEP and VALUE.
function look_up(fn, param, type,   i) {
    SWEEP = ""; VALUE = ""; FOUND = 0
    for (i = 1; i <= nt; i++) {
        if (!line_matches(i, fn, param, type)) continue
        FOUND = 1
        if (SWEEP == "" && t_sweep[i] != "") SWEEP = t_sweep[i]
        if (VALUE == "" && t_value[i] != "") VALUE = t_value[i]
    }
}
function fail(msg) { print "gen_sweep: " msg > "/dev/stderr"; failed = 1; exit 1 }
# "const float mean[3]" -> PNAME "mean", PTYPE "const float*".
function split_param(p,   name) {
    p = trim(p)
    if (p == "..." || p == "void") { PNAME = p; PTYPE = p; return }
    name = p; sub(/\[[^]]*\]$/, "", name); sub(/^.*[ *]/, "", name)
    PTYPE = substr(p, 1, length(p) - length(name)); PTYPE = trim(PTYPE)
    if (p ~ /\]$/) { PTYPE = trim(substr(p, 1, index(p, name) - 1)) "*" }
    gsub(/ *\* */, "*", PTYPE)
    PNAME = name
}
function failure_test(ret) {
    if (ret ~ /\*$/) return "r == NULL ? SWEEP_FAILED : SWEEP_SUCCEEDED"
    if (ret == "int" || ret == "int64_t") return "r == -1 ? SWEEP_FAILED : SWEEP_SUCCEEDED"
    if (ret == "float" || ret == "double") return "isnan(r) ? SWEEP_FAILED : SWEEP_SUCCEEDED"
    if (ret == "bool") return "!r ? SWEEP_FAILED : SWEEP_SUCCEEDED"
    return ""
}
function emit_case(fn, ret, np, j, shown, arg, expect,   k, args, test, give) {
    args = ""
    for (k = 1; k <= np; k++) args = args (k > 1 ? ", " : "") (k == j ? arg : val[k])
    printf "    sweep_begin(\"%s\", \"%s\", \"%s\");\n", fn, pname[j], shown
    test = failure_test(ret)
    if (test == "") {
        printf "    %s%s(%s);\n", (ret == "void" ? "" : "(void)"), fn, args
        printf "    sweep_check(%s, SWEEP_UNKNOWN);\n", expect
    } else {
        look_up(fn, "return", RTYPE); give = VALUE
        printf "    {\n        %s%sr = %s(%s);\n", ret, (ret ~ /\*$/ ? "" : " "), fn, args
        printf "        sweep_check(%s, %s);\n", expect, test
        if (give != "-") printf "        %s(r);\n", give
        printf "    }\n"
    }
    printf "    sweep_end();\n"
    cases++
}
BEGIN {
    while ((getline line < table) > 0) {
        if (line ~ /^[ \t]*(#|$)/) continue
        nf = split(line, f, /\|/)
        if (nf != 5) fail(table ": not 5 fields: " line)
        nt++
        t_fn[nt] = trim(f[1]); t_param[nt] = trim(f[2]); t_type[nt] = trim(f[3])
        t_sweep[nt] = trim(f[4]); t_value[nt] = trim(f[5])
    }
    print "/* Written by tests/api/gen_sweep.sh from the public headers; do not edit. */"
    print "#include <check.h>\n#include <limits.h>\n#include <math.h>\n#include <stdint.h>\n\n#include \"makers.h\"\n"
}
$2 == 1 {
    fn = $1; s = $0
    sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", s); sub(/^TG_API /, "", s)
    i = index(s, fn "("); if (!i) i = index(s, fn " (")
    ret = trim(substr(s, 1, i - 1)); RTYPE = ret; gsub(/ *\* */, "*", RTYPE)
    rest = substr(s, i + length(fn)); sub(/^ ?\(/, "", rest)
    depth = 1; plist = ""
    for (k = 1; k <= length(rest); k++) {
        c = substr(rest, k, 1)
        if (c == "(") depth++
        if (c == ")" && --depth == 0) break
        plist = plist c
    }
    np = split(plist, parts, /,/)
    for (j = 1; j <= np; j++) {
        split_param(parts[j]); pname[j] = PNAME; ptype[j] = PTYPE
        if (PTYPE == "void") { np = 0; break }
        if (PTYPE == "...") { np = j - 1; break }
        look_up(fn, PNAME, PTYPE)
        if (SWEEP == "" || (VALUE == "" && SWEEP != "-")) fail(fn ": parameter " PNAME " of type " PTYPE " has no line in " table)
        sweep[j] = SWEEP; val[j] = VALUE
    }
    functions++
    body = 0
    for (j = 1; j <= np; j++) if (sweep[j] != "-") body = 1
    if (!body) next
    tests[++ntests] = fn
    printf "START_TEST(sweep_%s)\n{\n", fn
    for (j = 1; j <= np; j++) {
        kind = sweep[j]
        if (kind == "null") emit_case(fn, ret, np, j, "NULL", "sweep_null()", "SWEEP_MUST_FAIL")
        else if (kind == "nullok") emit_case(fn, ret, np, j, "NULL", "sweep_null()", "SWEEP_MAY_FAIL")
        else if (kind == "low" || kind ~ /^range /) {
            emit_case(fn, ret, np, j, "-1", "(" ptype[j] ")-1", "SWEEP_MAY_FAIL")
            if (kind ~ /^range /) {
                huge = kind; sub(/^range /, "", huge)
                emit_case(fn, ret, np, j, huge, "(" ptype[j] ")(" huge ")", "SWEEP_MAY_FAIL")
            }
        } else if (kind != "-") fail(fn ": unknown sweep " kind " for " pname[j])
    }
    printf "    sweep_done();\n}\nEND_TEST\n\n"
}
END {
    if (failed) exit 1
    printf "/* %d public functions; %d with arguments to vary, in %d calls. */\n", functions, ntests, cases
    print "void sweep_add_tests(TCase *tc)\n{"
    for (k = 1; k <= ntests; k++) printf "    tcase_add_test(tc, sweep_%s);\n", tests[k]
    print "}"
}' > "$out"
