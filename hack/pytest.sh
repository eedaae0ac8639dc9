#!/usr/bin/env bash
# Runs pytest and treats "no tests collected" (exit code 5) as success, so a filtered tier
# with nothing in it does not fail a build.
set -uo pipefail
"$@"
code=$?
if [[ $code -eq 5 ]]; then
  echo "pytest: no tests were collected for this selection"
  exit 0
fi
exit $code
