#!/usr/bin/env bash
# Runs every test: unit, conformance and engine tests and the benchmark smoke run
# (ctest); the Python and JavaScript interop suites against a real taskhubd (again over
# Azure Storage on Azurite); the crash and worker-disconnect tests (again over Azurite;
# storage outages); the C++ SDK samples, cross-language and resilience
# tests; the taskhub CLI tests; the Kubernetes manifest check (Go) and the Python and
# JavaScript samples; and the Java interop suite (Maven).
# Installs what it needs first (Debian packages, a Python venv, npm and Maven packages).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
tools/install-deps.sh --test
tools/build.sh build
tools/azurite.sh install build  # Azure Storage emulator for the azure_* tests

echo "== unit and conformance tests"
(cd build && ctest --output-on-failure --no-tests=error -j 2)

echo "== Python test environment"
venv="$root/build/test-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r tests/interop/python/requirements.txt -r tests/crash/requirements.txt \
  -r tests/cli/requirements.txt -r tests/sdk/requirements.txt

echo "== JavaScript test environment"
(cd tests/interop/js && npm ci --no-audit --no-fund --loglevel=error)

export TASKHUBD="$root/build/bin/taskhubd"
export TASKHUB_BIN_DIR="$root/build/bin"
export TASKHUB_CLI="$root/build/bin/taskhub"
echo "== Python interop (durabletask from PyPI; includes a Python + JS shared task hub)"
"$venv/bin/python" -m pytest -q tests/interop/python
echo "== crash and worker-disconnect tests"
"$venv/bin/python" -m pytest -q tests/crash
echo "== Python interop again with 4 engine partitions (messages between partitions)"
TASKHUB_ENGINE_PARTITIONS=4 "$venv/bin/python" -m pytest -q tests/interop/python
echo "== Python interop and the crash tests over Azure Storage (Azurite, tests/pyharness)"
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/interop/python
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/crash \
  --ignore=tests/crash/test_azurite_outage.py  # (it runs over its own Azurite in the crash stage)
echo "== start-up failures and full-disk tests"
"$venv/bin/python" -m pytest -q tests/startup
echo "== /metrics, /healthz and /readyz (prometheus_client's parser, a real Python worker)"
"$venv/bin/pip" install -q -r tests/metrics/requirements.txt && "$venv/bin/python" -m pytest -q tests/metrics
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/metrics  # Azure transactions by kind
echo "== C++ SDK samples, cross-language and resilience tests"
"$venv/bin/python" -m pytest -q tests/sdk
echo "== taskhub CLI tests"
"$venv/bin/python" -m pytest -q tests/cli
echo "== lifecycle notifications (webhooks, dead letters, kill -9) and trace context"
"$venv/bin/python" -m pytest -q tests/notify
TASKHUB_STORE=azure "$venv/bin/python" -m pytest -q tests/notify -k "kill9 or dead_letters"

echo "== Kubernetes manifests (deploy/validate: overlays rendered, strict k8s.io/api decoding, rules; Go modules cached, test offline)"
(cd deploy/validate && go mod download && GOPROXY=off GOFLAGS="${GOFLAGS:-} -mod=readonly" go test -count=1 ./...)
echo "== Python and JavaScript samples (sdk/examples/python, sdk/examples/js) against a real taskhubd"
"$venv/bin/pip" install -q -r tests/samples/requirements.txt
(cd sdk/examples/js && npm ci --no-audit --no-fund --loglevel=error)
"$venv/bin/python" -m pytest -q tests/samples
# Opt-in (needs root, mmdebstrap, umoci and ~2 min with the Debian mirror): the OCI image.
[ "${TASKHUB_TEST_OCI_IMAGE:-}" != 1 ] || { tools/oci-image.sh build && tests/deploy/oci_image_test.sh; }

echo "== TLS and bearer tokens (Python, JS and C++ SDKs, CLI)"
"$venv/bin/pip" install -q -r tests/security/requirements.txt && "$venv/bin/python" -m pytest -q tests/security

echo "== HTTP management API (Durable Functions routes; requests from PyPI)"
"$venv/bin/pip" install -q -r tests/http/requirements.txt && "$venv/bin/python" -m pytest -q tests/http

echo "== JavaScript interop (@microsoft/durabletask-js from npm)"
(cd tests/interop/js && npm test)
echo "== JavaScript interop over Azure Storage (Azurite)"
(cd tests/interop/js && TASKHUB_STORE=azure npm test)
echo "== JavaScript entities again with V1 entity work items (entityRequest)"
(cd tests/interop/js && TASKHUB_ENTITY_WORK_ITEMS=v1 node --test --test-concurrency=1 test/entities.test.js)
echo "== dashboard in Debian's chromium (puppeteer-core from npm; screenshots in build/test-artifacts/dashboard)"
(cd tests/dashboard && npm ci --no-audit --no-fund --loglevel=error && timeout 170 npm test)
echo "== Java interop (com.microsoft:durabletask-client from Maven Central)"
(cd tests/interop/java && mvn -B -q test)
echo "== all tests passed"
