# doxygen's INPUT_FILTER (docs/Doxyfile.in): lets doxygen take the public
# headers' plain /* */ comments as documentation, on the fly, until the
# headers are written in its style (/** */, /**< */, @file); the files
# themselves are not changed. With GNU sed:
#   - the comment that opens a file documents the file;
#   - a comment opening a line documents the declaration after it;
#   - a comment after code on its line documents that code (a field, an
#     enum value, a function);
#   - a divider (/* ---- name ---- */) stays a plain comment;
#   - placeholders such as <name> are text, not HTML tags.
/^#/ !s|<\([A-Za-z_][A-Za-z_0-9 ,]*\)>|\\<\1\\>|g
1 {
    /^\/\*[^*]/ {
        s|^/\*|/**|
        :file_comment
        /\*\// !{
            n
            b file_comment
        }
        s|\*/|@file */|
        b
    }
}
/^[[:space:]]*\/\* -/ b
s|^\([[:space:]]*\)/\*\([^*]\)|\1/**\2|
/^[[:space:]]*\(\*\|\/\*\)/ !s|/\*\([^*]\)|/**<\1|
