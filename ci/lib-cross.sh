# shellcheck shell=bash
# Shared helpers for ci/windows.sh and ci/other-targets.sh -- sourced, not run.
# Sets ROOT (the repo root = parent of ci/), cds there, installs/loads the cross toolchain
# (ci/windows-toolchain.sh, a quick no-op when present) and defines run_step.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

ENV_FILE=$(bash "$ROOT/ci/windows-toolchain.sh" </dev/null | tail -n 1)
# shellcheck source=/dev/null
source "$ENV_FILE"        # Debian rustc-web 1.96 first in PATH, RUSTC_BOOTSTRAP=1, wine runner

# Separate target dir: the cross builds (other compiler, -Zbuild-std) never touch target/debug.
export CARGO_TARGET_DIR=${LOCALIPC_CROSS_TARGET_DIR:-$ROOT/target/cross}
# shellcheck disable=SC2206,SC2034
BUILD_STD=($LOCALIPC_BUILD_STD)   # -Zbuild-std=std,panic_abort
# Extra cargo args for every cargo command of these scripts, e.g. "--all-features".
# shellcheck disable=SC2206,SC2034
CARGO_ARGS=(${LOCALIPC_CARGO_ARGS:-})

say() { echo "::: $*" >&2; }

# run_step NAME SECONDS CMD... : run CMD under `timeout`, so a hang fails in minutes.
# Runs it as a background job so a Ctrl-C / TERM of this script reaches it through the trap.
STEP_PID=
run_step() {
    local name=$1 secs=$2 start=$SECONDS rc=0
    shift 2
    say "$name (timeout ${secs}s): $*"
    timeout -k 30 "$secs" "$@" &
    STEP_PID=$!
    wait "$STEP_PID" || rc=$?
    STEP_PID=
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        say "$name TIMED OUT after ${secs}s (raise it with the LOCALIPC_*_TIMEOUT env vars)"
    fi
    say "$name: exit $rc after $((SECONDS - start))s"
    return "$rc"
}
stop_step() { if [ -n "${STEP_PID:-}" ]; then kill -TERM "$STEP_PID" 2>/dev/null || true; fi; }
