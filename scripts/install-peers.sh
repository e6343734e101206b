#!/usr/bin/env bash
# Installs the real Redis 7.0.15 binaries that ferredis's tests run against (the "peers"):
# redis-server, redis-cli, redis-benchmark and redis-sentinel, from Debian's packages
# redis-server, redis-tools and redis-sentinel.
#
# Idempotent: does nothing but print versions when everything is already there.
# Never leaves Debian's own redis-server / redis-sentinel services running on 6379 / 26379:
# the tests start their own servers on free ports.
# Exits non-zero, loudly, when a peer is missing and cannot be installed.
set -euo pipefail

readonly PEERS=(redis-server redis-cli redis-benchmark redis-sentinel)
readonly PACKAGES=(redis-server redis-tools redis-sentinel)
readonly WANTED_VERSION="7.0.15"

die() {
    echo "install-peers: FATAL: $*" >&2
    exit 1
}

missing_peers() {
    local peer
    for peer in "${PEERS[@]}"; do
        command -v "$peer" >/dev/null 2>&1 || echo "$peer"
    done
}

# Debian's maintainer scripts start the services on install; a policy-rc.d that answers 101
# ("action forbidden") stops that. An existing policy-rc.d (common in containers) is left alone.
apt_install() {
    local policy=/usr/sbin/policy-rc.d created_policy=0 status=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}" || status=$?
    if ((created_policy)); then
        rm -f "$policy"
    fi
    return "$status"
}

install_peers() {
    [[ "$(id -u)" == 0 ]] || die "missing peers ($(missing_peers | tr '\n' ' ')) and not root: cannot apt-get install ${PACKAGES[*]}"
    command -v apt-get >/dev/null 2>&1 || die "missing peers and no apt-get on this machine"
    echo "install-peers: installing ${PACKAGES[*]}"
    if ! apt_install; then
        echo "install-peers: install failed; running apt-get update and retrying"
        apt-get update || die "apt-get update failed"
        apt_install || die "apt-get install ${PACKAGES[*]} failed"
    fi
}

# The packages' services are not wanted: tests use their own ports. In containers they are
# usually not running at all, so every step here is allowed to fail quietly.
stop_debian_services() {
    local svc
    for svc in redis-server redis-sentinel; do
        command -v service >/dev/null 2>&1 && [[ -x "/etc/init.d/$svc" ]] || continue
        # The init scripts go by their pidfile, so peers started by hand are not touched.
        if service "$svc" status >/dev/null 2>&1; then
            echo "install-peers: stopping the Debian $svc service"
            service "$svc" stop >/dev/null 2>&1 || true
        fi
    done
}

check_versions() {
    local peer version
    for peer in "${PEERS[@]}"; do
        command -v "$peer" >/dev/null 2>&1 || die "$peer still missing after install"
        version="$("$peer" --version 2>&1 | head -n1)" || die "$peer --version failed: $version"
        echo "install-peers: $peer: $version"
    done
    version="$(redis-server --version)"
    case "$version" in
        *"v=$WANTED_VERSION "*) ;;
        *"v=7.0."*) echo "install-peers: WARNING: redis-server is not $WANTED_VERSION; differential tests assume $WANTED_VERSION" >&2 ;;
        *) die "redis-server is not a 7.0.x release: $version" ;;
    esac
}

main() {
    if [[ -n "$(missing_peers)" ]]; then
        install_peers
    fi
    stop_debian_services
    check_versions
}

main "$@"
