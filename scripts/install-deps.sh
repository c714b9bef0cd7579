#!/usr/bin/env bash
# Installs what veille's build, `make run` and the test suites need beyond the
# Rust toolchain. Idempotent: each step is skipped when its result is already
# there and up to date, so a second run takes well under a second.
#
#   scripts/install-deps.sh                 all steps (CI, browser tests)
#   scripts/install-deps.sh --runtime-only  only the npm packages (htmx, leaflet
#                                           embedded in the binary); no Chromium,
#                                           no Python venv
#
# Steps:
#   (a) Debian's chromium + chromium-driver, when /usr/bin/chromium (or
#       /usr/bin/chromedriver) is missing
#   (b) npm ci, when node_modules/.package-lock.json is missing or older than
#       package-lock.json
#   (c) a venv at .venv with scripts/requirements-test.txt, when .venv/.installed
#       is missing or older than the requirements file
#   (d) cargo-deny and cargo-audit (pinned versions, from crates.io), when
#       missing or of another version: the offline supply-chain checks
# Each step prints one line; a failing step prints the tail of its log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runtime_only=0
for arg in "$@"; do
    case "$arg" in
        --runtime-only) runtime_only=1 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-deps: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

logdir="$(mktemp -d "${TMPDIR:-/tmp}/veille-install-deps.XXXXXX")"
trap 'rm -rf "$logdir"' EXIT

# run_step NAME CMD...: runs CMD with its output in a log; on failure prints
# the log's tail and exits with CMD's status.
run_step() {
    local name="$1"; shift
    local log="$logdir/$name.log"
    local status=0
    "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "install-deps: $name: FAILED (exit $status): $*" >&2
        tail -n 40 "$log" >&2
        exit "$status"
    fi
}

now() { date +%s; }

# (a) Chromium for the browser tests.
step_chromium() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        echo "install-deps: chromium: present (/usr/bin/chromium)"
        return
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    local t0; t0=$(now)
    run_step apt-update $sudo apt-get update
    run_step apt-install $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core
    echo "install-deps: chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -n1) in $(( $(now) - t0 ))s"
}

# (b) npm packages: front-end libraries and the JS test tools.
# Always a full `npm ci` (dev dependencies included: they are small, and
# installing a subset would leave a marker that hides the missing rest).
# --ignore-scripts: no package here needs an install script, and it keeps any
# browser download out.
step_npm() {
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: npm: NOT FOUND (install Node.js 20+ and npm)" >&2
        exit 1
    fi
    if [ -f node_modules/.package-lock.json ] && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
        echo "install-deps: npm: up to date (node_modules)"
        return
    fi
    local t0; t0=$(now)
    run_step npm-ci npm ci --ignore-scripts --no-audit --no-fund
    echo "install-deps: npm: npm ci done in $(( $(now) - t0 ))s"
}

# (c) Python test tools in .venv.
step_venv() {
    local req=scripts/requirements-test.txt
    if [ -x .venv/bin/python ] && [ -f .venv/.installed ] && ! [ "$req" -nt .venv/.installed ]; then
        echo "install-deps: venv: up to date (.venv)"
        return
    fi
    if ! command -v python3 >/dev/null 2>&1; then
        echo "install-deps: venv: python3 NOT FOUND" >&2
        exit 1
    fi
    local t0; t0=$(now)
    # A venv left half-made by an interrupted run (no pip) is made anew.
    if [ -x .venv/bin/python ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        rm -rf .venv
    fi
    if ! [ -x .venv/bin/python ]; then
        run_step venv python3 -m venv .venv
    fi
    run_step pip .venv/bin/python -m pip install --disable-pip-version-check -r "$req"
    touch .venv/.installed
    echo "install-deps: venv: installed $req in $(( $(now) - t0 ))s"
}

# (d) Supply-chain tools, built from crates.io once per machine.
CARGO_TOOLS=("cargo-deny 0.20.2" "cargo-audit 0.22.2")
step_cargo_tools() {
    local entry name version t0
    for entry in "${CARGO_TOOLS[@]}"; do
        name=${entry% *}
        version=${entry#* }
        if "$name" --version 2>/dev/null | grep -q " $version\b"; then
            echo "install-deps: $name: present ($version)"
            continue
        fi
        t0=$(now)
        run_step "$name" cargo install --locked "$name" --version "$version"
        echo "install-deps: $name: installed $version in $(( $(now) - t0 ))s"
    done
}

if [ "$runtime_only" -eq 1 ]; then
    step_npm
else
    step_chromium
    step_npm
    step_venv
    step_cargo_tools
fi
