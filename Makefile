# The two commands of the README. Each installs what it needs, idempotently.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
ARTIFACT := artifacts/contracts/LicenceRegistry.sol/LicenceRegistry.json
LONDON_ARTIFACT := artifacts-london/contracts/LicenceRegistry.sol/LicenceRegistry.json
DECODER := licence_service/static/jsQR.js
SM2JS := licence_service/static/sm2.js

.PHONY: demo test setup lint bench test-network artifacts-london test-block-time clean lock lock-upgrade bytecode

demo: setup
	$(BIN)/licledger demo --out demo-out
	$(BIN)/licledger demo-regions --out demo-out

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q --durations=25 -m "not network"

# The multi-node Clique network of @ethereumjs/client (issue 21): about two minutes, and it
# converges only slowly on a loaded 2-core machine, so it runs on its own.
test-network: setup $(LONDON_ARTIFACT)
	LICLEDGER_ARTIFACTS=artifacts-london $(BIN)/pytest -q --durations=10 -m network

# The contracts built for London (no PUSH0/MCOPY), the EVM the Clique network above runs
# (hardhat.config.js: LICLEDGER_EVM_VERSION), beside the product's cancun build.
artifacts-london: $(LONDON_ARTIFACT)
$(LONDON_ARTIFACT): node_modules/.package-lock.json hardhat.config.js $(wildcard contracts/*.sol contracts/interfaces/*.sol contracts/test/*.sol)
	HARDHAT_DISABLE_TELEMETRY_PROMPT=true LICLEDGER_EVM_VERSION=london LICLEDGER_ARTIFACTS=./artifacts-london \
		LICLEDGER_HARDHAT_CACHE=./cache-london npx hardhat compile
	@touch $@

# Issuance, status changes, bulk import and the kill tests again on a session node that mines a
# block every 2 s instead of one per transaction at once (issue 21): several minutes more.
BLOCK_TIME_TESTS := tests/test_service_flow.py tests/test_lifecycle.py tests/test_bulk_import.py \
	tests/test_crash_kill.py tests/test_exactly_once.py
test-block-time: setup
	LICLEDGER_TEST_BLOCK_TIME=2 $(BIN)/pytest -q --durations=10 $(BLOCK_TIME_TESTS)

bench: setup
	$(BIN)/licledger bench all

setup: $(STAMP) $(ARTIFACT) .fonts-ok $(DECODER) $(SM2JS) chain-client/node_modules/.package-lock.json bytecode

# Bytecode of the project's own packages, so a `serve` (re)start reads it instead of compiling
# ~250 modules first: with PYTHONDONTWRITEBYTECODE set (as in some shells and CI) nothing else
# writes it, and a restart after kill -9 spent a third of its time compiling (issue 25.3).
# Up-to-date files are skipped; a module edited since is compiled in memory as before.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 licence_service verifier signing ledger_client

# The counter page's QR decoder, from the locked npm package: served by the app, never a CDN.
$(DECODER): node_modules/.package-lock.json
	cp node_modules/jsqr/dist/jsQR.js $@

# The offline counter's SM2 verifier (sm-crypto's browser build), likewise served by the app.
$(SM2JS): node_modules/.package-lock.json
	cp node_modules/sm-crypto/dist/sm2.js $@

# System packages: a CJK TrueType font for the PDFs, poppler for the independent signature
# check in the tests, chromium and ffmpeg for the browser tests. Installed with apt when missing
# and we are root; otherwise say what to do. Re-run whenever the script's list changes.
.fonts-ok: scripts/system-deps.sh
	@bash scripts/system-deps.sh
	@touch $@

# `npm install` rather than `npm ci`: the registry here serves only the linux-x64 build of
# anvil's optional per-platform packages, which `npm ci` refuses as an out-of-sync lock file.
# With the lock file present, `npm install` installs exactly the locked versions.
node_modules/.package-lock.json: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $@

# The multi-node test network's client (ledger_client/network.py), in a folder of its own: its
# @ethereumjs packages are newer than hardhat's and clash with them in one node_modules.
chain-client/node_modules/.package-lock.json: chain-client/package.json chain-client/package-lock.json
	npm install --no-audit --no-fund --prefix chain-client
	@touch $@

$(ARTIFACT): node_modules/.package-lock.json hardhat.config.js $(wildcard contracts/*.sol contracts/interfaces/*.sol contracts/test/*.sol)
	HARDHAT_DISABLE_TELEMETRY_PROMPT=true npx hardhat compile
	@touch $@

# Python packages come from the lock file only: every package, transitively, at one version with
# its hashes (pip refuses anything else), then the project itself without resolving again.
# `make lock` rewrites the lock from pyproject.toml (and requirements-tools.in) with the locked uv.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@

# `make lock` adds what pyproject.toml newly asks for and keeps every other pin; `make lock-upgrade`
# moves every package to the newest version the ranges allow.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml requirements-tools.in --extra test --extra bench \
	--python-version 3.11 --generate-hashes --quiet -o $(LOCK)

$(BIN)/uv:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv

lock: $(BIN)/uv
	$(UV_COMPILE)

lock-upgrade: $(BIN)/uv
	$(UV_COMPILE) --upgrade

clean:
	rm -rf $(VENV) node_modules artifacts cache artifacts-london cache-london .fonts-ok demo-out $(DECODER) $(SM2JS) test-artifacts
