#!/usr/bin/env bash
# Installs the system pieces bpfscope needs for live eBPF sampling and its tests:
# bcc's Python bindings and tools (profile-bpfcc), perf, bpftool, tmux, Go (go tool pprof), a headless Chromium, the kernel headers
# that bcc compiles against, and a mounted tracefs.
#
# Idempotent: a package that dpkg already lists as installed is skipped, and when nothing is
# missing the script makes no network call. A package that cannot be had is reported on one
# line and the script goes on: it never fails the whole set-up for one missing piece.
set -uo pipefail

WANTED=(python3-bpfcc bpfcc-tools linux-perf bpftool tmux golang-go gcc g++ binutils rustc python3)

say() { printf 'setup-system: %s\n' "$*"; }

if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "not running as root with apt-get: skipped. For live sampling and all the tests, install:"
    say "  ${WANTED[*]} chromium-headless-shell (or chromium) linux-headers-\$(uname -r)"
    say "  and mount tracefs: mount -t tracefs tracefs /sys/kernel/tracing"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

updated=0
apt_update_once() {
    if [[ $updated == 0 ]]; then
        updated=1
        say "apt-get update"
        apt-get update -q >/dev/null || say "apt-get update failed; trying with the package lists there are"
    fi
}

has_candidate() {
    local candidate
    candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

# Installs the given packages in one apt-get call; on failure, one at a time so that one bad
# package doesn't keep the others out.
install_packages() {
    local available=() pkg
    for pkg in "$@"; do
        if has_candidate "$pkg"; then
            available+=("$pkg")
        else
            say "MISSING: package $pkg is not available from apt; skipped"
        fi
    done
    [[ ${#available[@]} == 0 ]] && return 0
    say "installing ${available[*]}"
    if apt-get install -y -q --no-install-recommends "${available[@]}" >/tmp/bpfscope-apt.log 2>&1; then
        return 0
    fi
    for pkg in "${available[@]}"; do
        apt-get install -y -q --no-install-recommends "$pkg" >>/tmp/bpfscope-apt.log 2>&1 \
            || say "MISSING: apt-get could not install $pkg (log: /tmp/bpfscope-apt.log); skipped"
    done
}

# --- plain packages -------------------------------------------------------------------------
missing=()
for pkg in "${WANTED[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if ! is_installed chromium-headless-shell && ! is_installed chromium; then
    apt_update_once
    if has_candidate chromium-headless-shell; then
        missing+=(chromium-headless-shell)
    else
        missing+=(chromium)
    fi
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    apt_update_once
    install_packages "${missing[@]}"
fi

# --- kernel headers -------------------------------------------------------------------------
kver="$(uname -r)"
modules="/lib/modules/$kver"

# The headers package closest to the running kernel: the newest one not newer than it, or else
# the oldest one newer than it. Prints the version part X of linux-headers-X-FLAVOUR.
nearest_headers() {
    local flavour="$1" running versions v base below="" above=""
    running="$(grep -oE '^[0-9]+\.[0-9]+\.[0-9]+' <<<"$kver")"
    versions="$(apt-cache search --names-only "^linux-headers-[0-9].*-${flavour}\$" \
        | awk '{print $1}' | sed -e 's/^linux-headers-//' -e "s/-${flavour}\$//" \
        | grep -E '^[0-9]+\.[0-9]+\.[0-9]+' | sort -V)"
    for v in $versions; do
        base="$(grep -oE '^[0-9]+\.[0-9]+\.[0-9]+' <<<"$v")"
        if [[ "$(printf '%s\n%s\n' "$base" "$running" | sort -V | head -n1)" == "$base" ]]; then
            below="$v"
        elif [[ -z "$above" ]]; then
            above="$v"
        fi
    done
    printf '%s\n' "${below:-$above}"
}

if [[ -e "$modules/build/include" ]]; then
    :  # headers already reachable (a link we made earlier, or the distribution's own)
elif is_installed "linux-headers-$kver"; then
    say "MISSING: linux-headers-$kver is installed but $modules/build is broken"
else
    apt_update_once
    if has_candidate "linux-headers-$kver"; then
        install_packages "linux-headers-$kver"
    else
        arch="$(dpkg --print-architecture)"
        flavour="$arch"
        [[ "$arch" == amd64 ]] && flavour="cloud-amd64"
        version="$(nearest_headers "$flavour")"
        if [[ -z "$version" ]]; then
            say "MISSING: no linux-headers-*-$flavour package to stand in for kernel $kver; bcc cannot compile"
        else
            say "no headers package for kernel $kver; using linux-headers-$version-$flavour"
            is_installed "linux-headers-$version-$flavour" || install_packages "linux-headers-$version-$flavour"
            if [[ -d "/usr/src/linux-headers-$version-$flavour" ]]; then
                mkdir -p "$modules"
                ln -sfn "/usr/src/linux-headers-$version-$flavour" "$modules/build"
                ln -sfn "/usr/src/linux-headers-$version-common" "$modules/source"
                say "linked $modules/build -> /usr/src/linux-headers-$version-$flavour"
            else
                say "MISSING: /usr/src/linux-headers-$version-$flavour after install; bcc cannot compile"
            fi
        fi
    fi
fi

# --- CPython builds for the Python-frames tests ----------------------------------------------
# The live Python tests run every supported CPython (3.9-3.13) and 3.8 (an unsupported one)
# from pyenv, with their headers (for the offsets check). Building them takes long: they are
# only reported here when missing, with the command that makes them.
for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
    if ! compgen -G "/root/.pyenv/versions/$v.*/bin/python$v" >/dev/null; then
        say "MISSING: CPython $v under /root/.pyenv/versions (pyenv install $v; needs libssl-dev etc.)"
    fi
done

# --- tracefs --------------------------------------------------------------------------------
if [[ -d /sys/kernel/tracing ]] && ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null \
        || say "MISSING: could not mount tracefs at /sys/kernel/tracing"
fi

exit 0
