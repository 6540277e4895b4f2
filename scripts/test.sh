#!/usr/bin/env bash
# `npm test`: set up what the tests need, then run every test file with node:test.
# Unit tests sit beside the code (*.test.ts); integration and e2e tests are under test/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
scripts/build-images.sh
# Every cluster DNS the tests start answers outside names SERVFAIL instead of asking the host's resolver:
# a test run sends traffic only to this machine (dns/main.ts reads it when --upstream is not given).
export KUBEMU_DNS_UPSTREAM="${KUBEMU_DNS_UPSTREAM:-none}"
# tsx transforms synchronously; esbuild (0.28) routes those calls through a worker thread whose reply can be lost,
# and the process then waits forever — a test file (or the runner) hung in CI that way. Per-call service instead.
export ESBUILD_WORKER_THREADS=0

mapfile -t files < <(find api client apiserver scheduler controller-manager kubelet kube-proxy dns cluster cli launcher lib test examples \
  -name '*.test.ts' -not -path '*/node_modules/*' -not -path 'test/disruptive/*' 2>/dev/null | sort)
mapfile -t disruptive < <(find test/disruptive -name '*.test.ts' 2>/dev/null | sort)
echo "[kubemu test] ${#files[@]} test files, then ${#disruptive[@]} disruptive one(s) alone"
# No test may hang CI: each test has a time limit, a file's process exits when its tests are
# done even if a handle leaked, and the whole run is bounded.
run_tests() { # concurrency files...
  local n="$1"; shift
  timeout --kill-after=30s "${KUBEMU_TEST_TIMEOUT:-40m}" \
    node --import tsx --test --test-concurrency="$n" --test-timeout=300000 --test-force-exit \
    --test-reporter=spec "$@"
}
status=0
run_tests 2 "${files[@]}" || status=$?
# test/disruptive/ restarts the Docker engine every other test uses: it runs after them, on its own.
if [[ ${#disruptive[@]} -gt 0 ]]; then
  echo "[kubemu test] disruptive tests (they restart dockerd)"
  run_tests 1 "${disruptive[@]}" || status=$?
fi
exit "$status"
