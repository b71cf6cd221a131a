#!/usr/bin/env bash
# Runs every test: unit, conformance and engine tests and the benchmark smoke run
# (ctest); the Python and JavaScript interop suites against a real taskhubd (again over
# Azure Storage on Azurite); the crash and worker-disconnect tests (again over Azurite;
# storage outages); the C++ SDK samples, cross-language and resilience
# tests; the taskhub CLI tests; /metrics and the health routes; lifecycle notifications
# and trace context; the Kubernetes manifest check (Go) and the Python and JavaScript
# samples; TLS and tokens; the HTTP management API; the dashboard in chromium; and the
# Java interop suite (Maven).
# Installs what it needs first (Debian packages, a Python venv, npm and Maven packages).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
# Each stage line says how long the run has taken so far (the CI budget is per run).
stage() { echo "== $* (at ${SECONDS} s)"; }
tools/install-deps.sh --test
tools/build.sh build
tools/azurite.sh install build  # Azure Storage emulator for the azure_* tests

stage "unit and conformance tests"
(cd build && ctest --output-on-failure --no-tests=error -j 2)

stage "Python test environment"
venv="$root/build/test-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r tests/interop/python/requirements.txt -r tests/crash/requirements.txt \
  -r tests/cli/requirements.txt -r tests/sdk/requirements.txt

stage "JavaScript test environment"
(cd tests/interop/js && npm ci --no-audit --no-fund --loglevel=error)

export TASKHUBD="$root/build/bin/taskhubd"
export TASKHUB_BIN_DIR="$root/build/bin"
export TASKHUB_CLI="$root/build/bin/taskhub"
stage "Python interop (durabletask from PyPI; includes a Python + JS shared task hub)"
"$venv/bin/python" -m pytest -q tests/interop/python
stage "crash and worker-disconnect tests"
"$venv/bin/python" -m pytest -q tests/crash
stage "Python interop again with 4 engine partitions (messages between partitions)"
TASKHUB_ENGINE_PARTITIONS=4 "$venv/bin/python" -m pytest -q tests/interop/python
stage "Python interop and the crash tests over Azure Storage (Azurite, tests/pyharness)"
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/interop/python
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/crash \
  --ignore=tests/crash/test_azurite_outage.py  # (it runs over its own Azurite in the crash stage)
stage "start-up failures and full-disk tests"
"$venv/bin/python" -m pytest -q tests/startup
stage "/metrics, /healthz and /readyz (prometheus_client's parser, a real Python worker)"
"$venv/bin/pip" install -q -r tests/metrics/requirements.txt && "$venv/bin/python" -m pytest -q tests/metrics
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/metrics  # Azure transactions by kind
stage "C++ SDK samples, cross-language and resilience tests"
"$venv/bin/python" -m pytest -q tests/sdk
stage "taskhub CLI tests"
"$venv/bin/python" -m pytest -q tests/cli
stage "lifecycle notifications (webhooks, dead letters, kill -9) and trace context"
"$venv/bin/python" -m pytest -q tests/notify
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/notify -k "kill9 or dead_letters"

stage "Kubernetes manifests (deploy/validate: overlays rendered, strict k8s.io/api decoding, rules; Go modules cached, test offline)"
(cd deploy/validate && go mod download && GOPROXY=off GOFLAGS="${GOFLAGS:-} -mod=readonly" go test -count=1 ./...)
stage "Python and JavaScript samples (sdk/examples/python, sdk/examples/js) against a real taskhubd"
"$venv/bin/pip" install -q -r tests/samples/requirements.txt
(cd sdk/examples/js && npm ci --no-audit --no-fund --loglevel=error)
"$venv/bin/python" -m pytest -q tests/samples
# Opt-in (needs root, mmdebstrap, umoci and ~2 min with the Debian mirror): the OCI image.
[ "${TASKHUB_TEST_OCI_IMAGE:-}" != 1 ] || { tools/oci-image.sh build && tests/deploy/oci_image_test.sh; }

stage "TLS and bearer tokens (Python, JS and C++ SDKs, CLI)"
"$venv/bin/pip" install -q -r tests/security/requirements.txt && "$venv/bin/python" -m pytest -q tests/security

stage "HTTP management API (Durable Functions routes; requests from PyPI)"
"$venv/bin/pip" install -q -r tests/http/requirements.txt && "$venv/bin/python" -m pytest -q tests/http

stage "JavaScript interop (@microsoft/durabletask-js from npm)"
(cd tests/interop/js && npm test)
stage "JavaScript interop over Azure Storage (Azurite)"
(cd tests/interop/js && TASKHUB_STORE=azure npm test)
stage "JavaScript entities again with V1 entity work items (entityRequest)"
(cd tests/interop/js && TASKHUB_ENTITY_WORK_ITEMS=v1 node --test --test-concurrency=1 test/entities.test.js)
stage "dashboard in Debian's chromium (puppeteer-core from npm; screenshots in build/test-artifacts/dashboard)"
(cd tests/dashboard && npm ci --no-audit --no-fund --loglevel=error && timeout 170 npm test)
stage "Java interop (com.microsoft:durabletask-client from Maven Central)"
(cd tests/interop/java && mvn -B -q test)
stage "all tests passed"
