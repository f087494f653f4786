# --help for the shell scripts of tools/ and bench/, which source this file
# before anything else: when one of their arguments is --help or -h, it
# prints the comment at the head of the script (what it does, its usage) on
# stdout and exits 0.
for arg in "$@"; do
    case $arg in
        -h | --help)
            awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
            exit 0
            ;;
    esac
done
