# tests/support/check.sh - the pass/fail tally of the shell tests (sourced).
#
#   check NAME COMMAND...   runs the command: "ok   NAME" and passed+1 if it
#                           succeeds, "FAIL NAME" and failed+1 if not.
passed=0
failed=0

check() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
    fi
}
