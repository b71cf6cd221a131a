#!/usr/bin/env bash
# Usage: expect_compile_error.sh BUILD_DIR TARGET REGEX
# Builds TARGET (a snippet excluded from `all`) and passes only when the build fails
# with a message matching REGEX (the SDK's static_assert text).
set -uo pipefail
out=$(cmake --build "$1" --target "$2" 2>&1)
if [ $? -eq 0 ]; then
  echo "$2 compiled, but it must not: expected an error matching: $3"
  exit 1
fi
if ! grep -qE -- "$3" <<<"$out"; then
  echo "$out" | grep -E "error" | head -20
  echo "$2 failed to compile, but without the expected message: $3"
  exit 1
fi
echo "$2: rejected as expected ($3)"
