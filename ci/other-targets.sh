#!/usr/bin/env bash
# Type-check and lint the whole workspace for macOS and FreeBSD (no linker, nothing runs).
#
# Usage: ci/other-targets.sh [TARGET...]
#   default targets: x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd
# Env knobs: LOCALIPC_CHECK_TIMEOUT=900 (seconds per cargo command), LOCALIPC_SKIP_CLIPPY=1,
#   LOCALIPC_CARGO_ARGS="--all-features" (extra args for every cargo command),
#   LOCALIPC_CROSS_TARGET_DIR=target/cross
# Same Debian compiler and -Zbuild-std as ci/windows.sh (installed by ci/windows-toolchain.sh).
# Note: build scripts still run for the target; one that compiles C for it would need a
# cross C compiler, which this machine does not have.
set -euo pipefail
# shellcheck source=ci/lib-cross.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-cross.sh"
trap 'rc=$?; stop_step; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ $# -gt 0 ]; then TARGETS=("$@"); else
    TARGETS=(x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd)
fi
T=${LOCALIPC_CHECK_TIMEOUT:-900}

say "other targets: $(rustc -V), CARGO_TARGET_DIR=$CARGO_TARGET_DIR: ${TARGETS[*]}"
for target in "${TARGETS[@]}"; do
    run_step "check $target" "$T" \
        cargo check --workspace --all-targets "${BUILD_STD[@]}" --target "$target" "${CARGO_ARGS[@]}"
    if [ "${LOCALIPC_SKIP_CLIPPY:-0}" != 1 ]; then
        run_step "clippy $target" "$T" \
            cargo clippy --workspace --all-targets "${BUILD_STD[@]}" --target "$target" "${CARGO_ARGS[@]}" -- -D warnings
    fi
done
say "other targets OK: ${TARGETS[*]}"
