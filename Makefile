# mcamp - developer entry points. `make` alone lists the targets.
#
# Python tools (sam, cfn-lint, moto_server, cargo-lambda, zig) live in the
# project-local virtualenv .venv, built from infra/requirements.txt.
# Every target can be re-run; stamp files under .venv/ (and node_modules/)
# skip work whose inputs did not change, cargo is incremental by itself.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

VENV         ?= .venv
VENV_BIN     := $(CURDIR)/$(VENV)/bin
PYTHON       ?= python3
# The local demo folders (campaign.yaml, recipients.csv, stores.yaml); `make run DEMO=path`.
DEMO         ?= examples/demo examples/survey examples/mcs
# Extra arguments for `sam deploy`, e.g. DEPLOY_ARGS='--parameter-overrides AppSecret=...'
DEPLOY_ARGS  ?=
LAMBDA_TARGET := aarch64-unknown-linux-gnu
# Where cargo builds. The browser test runs the gateway and CLI binaries that
# `cargo test --workspace --all-targets` just built there: a `cargo run -p` of one
# package resolves features for that package alone and would rebuild much of the tree.
TARGET_DIR   := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BROWSER_DIR  := tests/browser
CHROMIUM     ?= /usr/bin/chromium
# apt-get needs root; use sudo when not root (CI runs as root).
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# No usage reports from the SAM CLI (the build machines are offline anyway).
export SAM_CLI_TELEMETRY := 0
# `make run PORT=8080` reaches the gateway as $PORT.
ifdef PORT
export PORT
endif

.PHONY: help venv run test check lint test-browser sam-build deploy bench fuzz clean distclean lock rust-target

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# ------------------------------------------------------------------ python venv
venv: $(VENV)/.stamp ## Create .venv with sam, cfn-lint, moto, cargo-lambda, zig

$(VENV)/.stamp: infra/requirements.txt infra/constraints.txt
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	@touch $@

lock: ## Re-resolve infra/requirements.txt into infra/constraints.txt
	infra/lock.sh

# ------------------------------------------------------------------- local run
run: ## Run the local gateway with the demo campaign (DEMO=..., PORT=...)
	cargo run --release -p mcamp-gateway -- $(addprefix --seed ,$(DEMO))

# ----------------------------------------------------------------------- tests
test: venv lint check ## lint + fmt/clippy + cargo tests (against moto) + browser tests
	MOTO_PYTHON=$(VENV_BIN)/python cargo test --workspace --all-targets
	$(MAKE) --no-print-directory test-browser

# cargo-machete finds dependencies a crate declares but never uses (installed once, pinned).
MACHETE_VERSION := 0.9.2
MACHETE := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin/cargo-machete

$(MACHETE):
	cargo install --quiet --locked cargo-machete --version $(MACHETE_VERSION)

check: $(MACHETE) ## cargo fmt --check, clippy with warnings as errors, no unused dependencies
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo machete

lint: $(VENV)/.lint.stamp ## sam validate --lint and cfn-lint on template.yaml

$(VENV)/.lint.stamp: template.yaml samconfig.toml $(VENV)/.stamp
	$(VENV_BIN)/sam validate --lint
	$(VENV_BIN)/cfn-lint template.yaml
	@touch $@

test-browser: ## Browser tests in headless Debian Chromium (skipped until tests/browser exists)
	@if [ ! -f $(BROWSER_DIR)/package.json ]; then \
	  echo "test-browser: $(BROWSER_DIR)/package.json does not exist yet, skipping the browser tests"; \
	  exit 0; \
	fi; \
	if [ ! -x $(CHROMIUM) ]; then \
	  echo "test-browser: installing Debian's chromium"; \
	  $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; \
	fi; \
	if [ ! -f $(BROWSER_DIR)/node_modules/.stamp ] \
	   || [ $(BROWSER_DIR)/package.json -nt $(BROWSER_DIR)/node_modules/.stamp ] \
	   || [ $(BROWSER_DIR)/package-lock.json -nt $(BROWSER_DIR)/node_modules/.stamp ]; then \
	  PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
	    npm ci --prefix $(BROWSER_DIR) --no-audit --no-fund; \
	  touch $(BROWSER_DIR)/node_modules/.stamp; \
	fi; \
	if [ ! -x $(TARGET_DIR)/debug/mcamp ] || [ ! -x $(TARGET_DIR)/debug/mcamp-gateway ]; then \
	  cargo build -q -p mcamp-cli -p mcamp-gateway; \
	fi; \
	if [ ! -x $(TARGET_DIR)/debug/xlsx_cells ]; then \
	  cargo build -q -p mcamp-tests --bin xlsx_cells; \
	fi; \
	CHROMIUM_PATH=$(CHROMIUM) MCAMP_GATEWAY_BIN=$(TARGET_DIR)/debug/mcamp-gateway MCAMP_CLI_BIN=$(TARGET_DIR)/debug/mcamp \
	  MCAMP_XLSX_CELLS_BIN=$(TARGET_DIR)/debug/xlsx_cells node $(BROWSER_DIR)/run.mjs

# ----------------------------------------------------------------------- bench
# Figures, not pass/fail: a missed target is flagged MISSED in bench-out/summary.txt (make
# fails only when a bench itself broke). BENCH_STRICT=1 also fails the page script on a miss.
bench: venv ## Benchmarks: redirect/mint/issuer (cargo bench), page weight + Lighthouse, recorded clicks/s vs a bare 302 (wrk), Lambda cold start vs a hello world -> bench-out/summary.txt
	@mkdir -p bench-out; rc=0; \
	MOTO_PYTHON=$(VENV_BIN)/python cargo bench -p mcamp-tests --benches 2>&1 | tee bench-out/cargo-bench.log || rc=1; \
	if [ ! -x $(CHROMIUM) ]; then \
	  echo "bench: installing Debian's chromium"; \
	  $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; \
	fi; \
	if [ ! -f tests/bench/node_modules/.stamp ] \
	   || [ tests/bench/package.json -nt tests/bench/node_modules/.stamp ] \
	   || [ tests/bench/package-lock.json -nt tests/bench/node_modules/.stamp ]; then \
	  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tests/bench --no-audit --no-fund \
	    && touch tests/bench/node_modules/.stamp || rc=1; \
	fi; \
	cargo build --release -q -p mcamp-gateway && cargo build --release -q -p mcamp-cli || rc=1; \
	CHROMIUM_PATH=$(CHROMIUM) MCAMP_GATEWAY_BIN=$(CURDIR)/target/release/mcamp-gateway MCAMP_CLI_BIN=$(CURDIR)/target/release/mcamp \
	  node tests/bench/page.mjs 2>&1 | tee bench-out/page.log || rc=1; \
	cargo build --release -q -p mcamp-tests --bin bare302 && cargo build --release -q -p mcamp-cli || rc=1; \
	tests/bench/redirect.sh $(CURDIR)/target/release/mcamp-gateway $(CURDIR)/target/release/mcamp \
	  $(CURDIR)/target/release/bare302 \
	  2>&1 | tee bench-out/redirect-load.log || rc=1; \
	VENV=$(VENV) tests/bench/coldstart.sh 2>&1 | tee bench-out/coldstart.log || rc=1; \
	for b in mcamp-gateway mcamp redirect page survey coupon-issuer redeem; do \
	  if [ -f target/release/$$b ]; then \
	    case $$b in mcamp-gateway) p=$$b;; mcamp) p=mcamp-cli;; *) p=mcamp-$$b;; esac; \
	    size=$$(stat -c %s target/release/$$b); \
	    echo "bench: release binary $$b (host, stripped) | $$size bytes ($$((size / 1048576)) MiB) | none | cargo build --release -p $$p"; \
	  fi; \
	done > bench-out/sizes.log; \
	tests/bench/table.sh bench-out/*.log > bench-out/summary.txt || rc=1; \
	echo; echo "==== bench-out/summary.txt"; cat bench-out/summary.txt; \
	exit $$rc

# ------------------------------------------------------------------------ fuzz
# cargo-fuzz (libFuzzer, nightly) on the parsers of outside input, FUZZ_SECONDS each. New
# inputs go to target/fuzz-corpus/ (the committed tests/fuzz/corpus/ seeds it); a crash stops
# the run with its input in tests/fuzz/artifacts/: move it to tests/fuzz/regressions/<target>/,
# where `make test` replays it for ever. CI does not fuzz; `cargo test` replays the corpus.
# Release code with debug assertions (cargo-fuzz's default), without the Lambda profile's fat
# LTO, which would make every target's link take minutes.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= short_code user_agent form survey_answer csv_import campaign_file
CARGO_FUZZ_VERSION := 0.13.1

fuzz: ## Fuzz each parser FUZZ_SECONDS (default 60; nightly and cargo-fuzz installed on first use)
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@[ -x "$(or $(CARGO_HOME),$(HOME)/.cargo)/bin/cargo-fuzz" ] || cargo install --quiet --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(TARGET_DIR)/fuzz-corpus/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	  cargo +nightly fuzz run --fuzz-dir tests/fuzz --features libfuzzer $$t \
	    $(TARGET_DIR)/fuzz-corpus/$$t tests/fuzz/corpus/$$t \
	    -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 || exit 1; \
	done

# ------------------------------------------------------------------ AWS (SAM)
rust-target:
	@rustup target list --installed | grep -qx $(LAMBDA_TARGET) || rustup target add $(LAMBDA_TARGET)

# cargo-lambda cross-compiles with zig. The PyPI cargo-lambda finds zig as
# `zig` on PATH or else runs `python3 -m ziglang`, so .venv/bin goes first on
# PATH: its python3 has the ziglang package (there is no `zig` executable).
#
# The Lambda build is [profile.release] at opt-level "s": each arm64 zip from 4.1-4.8 MB to
# ~3.0-3.4 MB, under the 4 MB budget (docs/coldstart.md). Set here, not in Cargo.toml, whose
# release profile also builds the local gateway that `make bench` measures at opt-level 3; SAM's
# rust-cargolambda cannot pass a cargo profile, the environment reaches cargo. (cargo-lambda
# itself adds panic="abort", the one release setting Cargo.toml leaves unset.)
LAMBDA_PROFILE := CARGO_PROFILE_RELEASE_OPT_LEVEL=s
sam-build: venv rust-target ## Build the arm64 Lambda binaries into .aws-sam (no Docker)
	PATH="$(VENV_BIN):$$PATH" $(LAMBDA_PROFILE) $(VENV_BIN)/sam build --beta-features

deploy: sam-build ## sam build, then sam deploy (samconfig.toml: stack mcamp, ap-northeast-2)
	PATH="$(VENV_BIN):$$PATH" $(VENV_BIN)/sam deploy $(DEPLOY_ARGS)

# ----------------------------------------------------------------------- clean
clean: ## Remove build outputs (cargo target/, .aws-sam/, lint stamp)
	cargo clean
	rm -rf .aws-sam $(VENV)/.lint.stamp

distclean: clean ## clean, and also remove .venv and the browser tests' node_modules
	rm -rf $(VENV) $(BROWSER_DIR)/node_modules
