# veille — the two commands: `make run` and `make test`.
SHELL := /bin/bash
DATABASE_URL ?= sqlite://data/veille.db
BIND ?= 127.0.0.1:8080
PG_TEST_URL ?= postgres://root@127.0.0.1:5432/test

.PHONY: run test deps lint test-rust test-supply-chain test-sqlite test-postgres test-fuzz test-browser postgres-up bench-linkage bench-intake

## Build, migrate, load the demo into an empty database, serve on http://127.0.0.1:8080
run:
	bash scripts/install-deps.sh --runtime-only
	cargo build --release -p veille --bin veille
	DATABASE_URL=$(DATABASE_URL) ./target/release/veille serve --demo --bind $(BIND)

## Everything: supply-chain checks, unit and property tests, the integration suite on SQLite and on PostgreSQL, browser tests
test: deps
	$(MAKE) lint
	$(MAKE) test-supply-chain
	cargo build -p veille
	$(MAKE) test-sqlite
	$(MAKE) test-postgres
	$(MAKE) test-fuzz
	$(MAKE) test-browser
	@echo "make test: all suites passed"

deps:
	bash scripts/install-deps.sh

## The conventions: formatting, and clippy with every warning an error (clippy.toml forbids SQL outside storage)
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## cargo-deny and cargo-audit, offline, against the RustSec snapshot in ../shared/supply-chain
test-supply-chain:
	bash scripts/supply-chain.sh

test-sqlite:
	VEILLE_TEST_DATABASE=sqlite cargo test --workspace --exclude veille-fuzz

## The parsers of untrusted input (forms, Open311, data·inclusion, GeoJSON, photos, linkage CSV) fuzzed
## for FUZZ_SECONDS each (six targets, two at a time), 0 crashes (crates/fuzz)
FUZZ_SECONDS ?= 10
test-fuzz:
	VEILLE_FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test -p veille-fuzz -- --test-threads=2

test-postgres: postgres-up
	VEILLE_TEST_DATABASE=postgres VEILLE_TEST_PG_URL=$(PG_TEST_URL) cargo test -p veille-storage -p veille-app -p veille-web -p veille

test-browser:
	node --test --test-concurrency=1 tests/browser/

postgres-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || (command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2) || true
	@pg_isready -h 127.0.0.1 -p 5432

bench-linkage:
	bash bench/linkage/run.sh

## Signalement intake benchmark (SQLite and PostgreSQL): writes docs/benchmarks.md
bench-intake: postgres-up
	bash bench/intake/run.sh
