#!/usr/bin/env bash
# check-format.sh — fails when a tracked C file does not match .clang-format.
#
#   tools/check-format.sh          list the files that drift (exit 1 if any)
#   tools/check-format.sh --fix    reformat them in place
#
# Run by ctest as the test "format" (label style) in the README's test command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format not installed" >&2; exit 1; }
# tracked files and new ones git does not ignore (a file is checked before its first commit)
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null ||
                     find . -name '*.[ch]' -not -path './build*')
if [ "${1:-}" = --fix ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
drift=()
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || drift+=("$f")
done
if [ ${#drift[@]} -gt 0 ]; then
    echo "check-format: ${#drift[@]} file(s) do not match .clang-format (fix: tools/check-format.sh --fix):"
    printf '  %s\n' "${drift[@]}"
    for f in "${drift[@]:0:3}"; do clang-format "$f" | diff -u "$f" - | head -20 || true; done
    exit 1
fi
echo "check-format: ${#files[@]} C files match .clang-format"
