#!/usr/bin/env bash
# Fails when a file of the repository cites a path outside it by a machine
# path (a work folder, a shared notes or fixtures folder, a home folder):
# docs and comments cite public sources (a repository and path, or a URL)
# instead. ~/ paths (a user's config) are fine, and so is the data of
# tests/fixtures/ (vendors' own files, which may record where they were
# made); the fixtures' notes (*.md) are checked.
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --git-dir >/dev/null 2>&1; then
    list() { git ls-files -z --cached --others --exclude-standard; }
else
    list() { find . -path ./.git -prune -o -path './build*' -prune -o -type f -print0; }
fi
# the patterns, spelled so that this script does not match itself
w='/wo''rk/'; s='shar''ed/(vendors|fixtures)'; u='\.\./sha''red'
h='/(home|Users)/[A-Za-z0-9_.-]+/|/ro''ot/'
found=$(list | grep -zv '^scripts/check_paths\.sh$' |
        grep -zvE '^tests/fixtures/.*[^.][^m][^d]$|^tests/fixtures/.{0,2}$' |
        xargs -0 grep -nIE "$w|$s|$u|$h" -- 2>/dev/null || true)
if [ -n "$found" ]; then
    echo "check_paths: these lines cite a machine path; cite the public source instead" >&2
    echo "(a repository and path, or a URL; docs/vendor-sources.md for vendor facts):" >&2
    echo "$found" >&2
    exit 1
fi
echo "check_paths: no machine paths cited"
