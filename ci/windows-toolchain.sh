#!/usr/bin/env bash
# Install (idempotently) the cross toolchain used by ci/windows.sh and ci/other-targets.sh.
#
# What it sets up, on Debian 12 as root:
#   * Debian's rustc-web / cargo-web / rust-web-clippy / rust-web-src (1.96 at the time of
#     writing) unpacked -- NOT installed -- into $LOCALIPC_RUSTWEB (default /opt/rustweb).
#     rustup's toolchain stays the default for everything else; the cross scripts pick the
#     Debian compiler through env vars only (see the env file below).
#   * mingw-w64 linker, wine64 (Debian's Wine 8.0) and the runtime libs rustc-web needs.
#   * a stand-in bcryptprimitives.dll (Wine 8.0 lacks it; Rust std imports ProcessPrng from it,
#     without it every Windows test exe dies at once with status 53).
#   * a Wine prefix at $WINEPREFIX (default /tmp/localipc-wineprefix) with that DLL in system32.
#   * an env file, $LOCALIPC_RUSTWEB/localipc-env.sh, to `source` before cross cargo commands.
#
# On a machine that already has all that, it only runs a few quick checks and exits (< 1 s).
# Usage: ci/windows-toolchain.sh          (prints the env file path on its last line)
set -euo pipefail

RW=${LOCALIPC_RUSTWEB:-/opt/rustweb}
export WINEPREFIX=${WINEPREFIX:-/tmp/localipc-wineprefix}
ENV_FILE=$RW/localipc-env.sh
SHIM=$RW/wine-shim/bcryptprimitives.dll
export DEBIAN_FRONTEND=noninteractive

log() { echo "windows-toolchain: $*" >&2; }

# --- fast path: everything present and working? -----------------------------------------
have_cmds() { command -v x86_64-w64-mingw32-gcc >/dev/null && command -v wine >/dev/null \
              && command -v wineserver >/dev/null && command -v wineboot >/dev/null; }
rustweb_ok() {
    # running them proves the shared libs (libllvmNN, libgit2) are installed too
    [ -f "$RW/.localipc-unpacked" ] \
    && LD_LIBRARY_PATH=$RW/usr/lib/x86_64-linux-gnu "$RW/usr/bin/rustc" -V >/dev/null 2>&1 \
    && LD_LIBRARY_PATH=$RW/usr/lib/x86_64-linux-gnu "$RW/usr/bin/cargo" -V >/dev/null 2>&1 \
    && LD_LIBRARY_PATH=$RW/usr/lib/x86_64-linux-gnu "$RW/usr/bin/clippy-driver" -V >/dev/null 2>&1 \
    && [ -f "$RW/usr/lib/rustlib/src/rust/library/Cargo.lock" ]
}
prefix_ok() { [ -f "$WINEPREFIX/system.reg" ] && cmp -s "$SHIM" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"; }

if have_cmds && rustweb_ok && [ -f "$SHIM" ] && [ -f "$ENV_FILE" ] && prefix_ok; then
    log "already installed"
    echo "$ENV_FILE"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then log "needs root (apt-get, $RW)"; exit 1; fi
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

# --- 1. system packages: mingw linker, wine (64-bit only), runtime libs for rustc-web ---
updated=0
apt_update() { if [ $updated = 0 ]; then log "apt-get update"; "${APT[@]}" update -qq; updated=1; fi; }
if ! have_cmds || ! rustweb_ok; then
    apt_update
    # rustc-web follows Debian security updates: derive versioned names, don't hardcode them
    LIBSTD=$(apt-cache depends libstd-rust-web-dev | awk '/Depends: libstd-rust-web-1/&& !n++ {print $2}')
    LIBLLVM=$(apt-cache depends "$LIBSTD" | awk '/Depends: libllvm/&& !n++ {print $2}')
    LIBGIT=$(apt-cache depends cargo-web | awk '/Depends: libgit2-/&& !n++ {print $2}')
    if [ -z "$LIBSTD" ] || [ -z "$LIBLLVM" ] || [ -z "$LIBGIT" ]; then
        log "could not derive rustc-web dependencies (LIBSTD='$LIBSTD' LIBLLVM='$LIBLLVM' LIBGIT='$LIBGIT')"
        exit 1
    fi
    log "apt-get install gcc-mingw-w64-x86-64 wine64 wine $LIBLLVM $LIBGIT"
    "${APT[@]}" install -y -qq --no-install-recommends \
        gcc-mingw-w64-x86-64 wine64 wine "$LIBLLVM" "$LIBGIT" >/dev/null

    # --- 2. Debian rustc-web/cargo-web/clippy + std source, unpacked (not installed) -----
    if ! rustweb_ok; then
        log "unpacking rustc-web ($LIBSTD) into $RW"
        rm -rf "${RW:?}/usr" "$RW/.localipc-unpacked"
        mkdir -p "$RW"
        d=$(mktemp -d)
        (cd "$d" && "${APT[@]}" -o APT::Sandbox::User=root download -qq rustc-web cargo-web rust-web-clippy \
             libstd-rust-web-dev "$LIBSTD" rust-web-src)
        for f in "$d"/*.deb; do dpkg -x "$f" "$RW"; done
        rm -rf "$d"
        rm -rf "$RW"/usr/lib/rustlib/src/rust/{src,compiler}   # only library/ is needed (-365 MB)
        touch "$RW/.localipc-unpacked"
        rustweb_ok || { log "unpacked toolchain does not run"; exit 1; }
    fi
fi

# --- 3. bcryptprimitives.dll stand-in (Wine 8.0 has none; std >= 1.78 needs ProcessPrng) --
if [ ! -f "$SHIM" ]; then
    mkdir -p "$RW/wine-shim"
    cat > "$RW/wine-shim/bcryptprimitives.c" <<'C'
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE p, SIZE_T n) {
    while (n) { ULONG k = n > 0x10000000 ? 0x10000000 : (ULONG)n;
        if (!RtlGenRandom(p, k)) return FALSE; p += k; n -= k; }
    return TRUE;
}
C
    x86_64-w64-mingw32-gcc -O2 -shared -o "$SHIM.tmp" "$RW/wine-shim/bcryptprimitives.c" -ladvapi32
    mv "$SHIM.tmp" "$SHIM"
fi

# --- 4. env file: source it in the cross scripts only ---------------------------------------
cat > "$ENV_FILE.tmp" <<ENV
# written by localipc ci/windows-toolchain.sh -- source it, don't run it
export PATH=$RW/usr/bin:\$PATH
export LD_LIBRARY_PATH=$RW/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export CARGO=$RW/usr/bin/cargo RUSTC=$RW/usr/bin/rustc RUSTDOC=$RW/usr/bin/rustdoc
unset RUSTC_WRAPPER RUSTUP_TOOLCHAIN
export RUSTC_BOOTSTRAP=1                    # lets the stable Debian compiler take -Z flags
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
export WINEDEBUG=\${WINEDEBUG:--all} WINEPREFIX=\${WINEPREFIX:-/tmp/localipc-wineprefix}
export WINEDLLOVERRIDES=\${WINEDLLOVERRIDES:-mscoree,mshtml=}   # never ask for Mono/Gecko
LOCALIPC_BUILD_STD="-Zbuild-std=std,panic_abort"
ENV
mv "$ENV_FILE.tmp" "$ENV_FILE"

# --- 5. wine prefix (headless, ~10-20 s the first time) + the DLL --------------------------
# shellcheck source=/dev/null
source "$ENV_FILE"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    log "creating wine prefix $WINEPREFIX"
    mkdir -p "$WINEPREFIX"
    timeout 300 wineboot -i >/dev/null 2>&1 || true
    timeout 120 wineserver -w || true
    [ -f "$WINEPREFIX/system.reg" ] || { log "wineboot did not create $WINEPREFIX"; exit 1; }
fi
cp "$SHIM" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

log "ready: $("$RW/usr/bin/rustc" -V), $(wine --version 2>/dev/null), prefix $WINEPREFIX"
log "env file: source $ENV_FILE"
echo "$ENV_FILE"
