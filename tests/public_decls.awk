# The top-level function declarations of a C header, one a line:
# "<name> <marked> <commented> <declaration>": marked 1 when the
# declaration carries TG_API, commented 1 when a comment stands above it
# or its group (no blank line between), or after it on its line; the
# declaration with its white space folded and without its ';'.
# Comments and preprocessor lines are dropped; struct, enum and function
# bodies are skipped; typedefs and static functions are not declarations
# of exported functions. Used by tests/symbols.sh and tests/api/gen_sweep.sh.
BEGIN { depth = 0; stmt = ""; comment = 0; directive = 0; documented = 0 }
function emit(s) {
    gsub(/[ \t]+/, " ", s)
    sub(/^ /, "", s); sub(/ $/, "", s)
    if (s ~ /^(typedef|static) /) return
    if (match(s, /(^|[^A-Za-z0-9_])tg_[A-Za-z0-9_]* ?\(/)) {
        name = substr(s, RSTART, RLENGTH)
        sub(/^[^t]*/, "", name); sub(/ ?\($/, "", name)
        print name, (s ~ /(^|[^A-Za-z0-9_])TG_API[^A-Za-z0-9_]/) ? 1 : 0, documented, s
    }
}
{
    line = $0
    if (!comment && line ~ /^[ \t]*$/) documented = 0
    if (comment || line ~ /\/[*\/]/) documented = 1
    if (directive || (!comment && line ~ /^[ \t]*#/)) {
        directive = (line ~ /\\$/)
        next
    }
    out = ""
    while (length(line) > 0) {
        if (comment) {
            i = index(line, "*/")
            if (i == 0) { line = ""; break }
            comment = 0; line = substr(line, i + 2)
        } else {
            i = index(line, "/*"); j = index(line, "//")
            if (j > 0 && (i == 0 || j < i)) { out = out substr(line, 1, j - 1); line = ""; break }
            if (i == 0) { out = out line; line = ""; break }
            out = out substr(line, 1, i - 1) " "; comment = 1; line = substr(line, i + 2)
        }
    }
    n = length(out)
    for (k = 1; k <= n; k++) {
        c = substr(out, k, 1)
        if (c == "{") {
            if (depth == 0 && stmt ~ /\)[ \t]*$/) { stmt = ""; body = 1 }
            depth++
        } else if (c == "}") {
            depth--
            if (depth == 0 && body) { body = 0; stmt = ""; continue }
        } else if (depth == 0) {
            if (c == ";") { emit(stmt); stmt = "" } else stmt = stmt c
        }
    }
    if (depth == 0) stmt = stmt " "
}
