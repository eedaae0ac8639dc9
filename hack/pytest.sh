#!/usr/bin/env bash
# Runs pytest and turns "no tests collected" (exit code 5) into a failure that says so: a
# selection (a marker, a path, SKIP=…) that matches nothing is a mistake, not a pass.
set -uo pipefail
"$@"
code=$?
if [[ $code -eq 5 ]]; then
  echo "pytest: no tests were collected for this selection (check the marker, paths and SKIP)" >&2
fi
exit $code
