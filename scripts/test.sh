#!/usr/bin/env bash
# `npm test`: set up what the tests need, then run every test file with node:test.
# Unit tests sit beside the code (*.test.ts); integration and e2e tests are under test/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
scripts/build-images.sh
mapfile -t files < <(find api client apiserver scheduler controller-manager kubelet kube-proxy dns cluster cli lib test examples \
  -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
echo "[kubemu test] ${#files[@]} test files"
# No test may hang CI: each test has a time limit, a file's process exits when its tests are
# done even if a handle leaked, and the whole run is bounded.
exec timeout --kill-after=30s "${KUBEMU_TEST_TIMEOUT:-40m}" \
  node --import tsx --test --test-concurrency=2 --test-timeout=300000 --test-force-exit \
  --test-reporter=spec "${files[@]}"
