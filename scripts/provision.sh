#!/usr/bin/env bash
# Provision a Debian/Ubuntu machine (CI, a fresh box) with the services the test suites use:
# Docker (and the sandbox image), bubblewrap, Redis, RabbitMQ, Chromium, Prometheus and nginx.
# Run as root.
#
# Idempotent: installed packages are not reinstalled, running services are left alone, an
# existing sandbox image is reused; with everything up it takes a few seconds. Fails loudly.
#
#   CODECRAFTER_LOG_DIR     where service logs go (default /var/log/codecrafter)
#   CODECRAFTER_REDIS_PORT  default 6379
#   CODECRAFTER_AMQP_PORT   default 5672
#   plus the variables of build-sandbox-image.sh (image name, mirror).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_DIR="${CODECRAFTER_LOG_DIR:-/var/log/codecrafter}"
REDIS_PORT="${CODECRAFTER_REDIS_PORT:-6379}"
AMQP_PORT="${CODECRAFTER_AMQP_PORT:-5672}"

# Debian packages, each with a command that shows it is there.
PACKAGES=(
    "redis-server:redis-server"
    "rabbitmq-server:rabbitmq-server"
    "docker.io:dockerd"
    "debootstrap:debootstrap"
    # The confined sandbox for hosts without Docker (sandbox = bwrap, or auto).
    "bubblewrap:bwrap"
    # The browser the frontend suites drive (through Playwright, which downloads none).
    "chromium:chromium"
    # The operations suites: a real Prometheus and promtool, and nginx before the servers.
    "prometheus:promtool"
    "nginx-light:nginx"
)

say() { echo "provision: $*"; }
die() { echo "provision: ERROR: $*" >&2; exit 1; }

# Wait up to $1 seconds for the command "${@:2}" to succeed.
wait_until() {
    local timeout_s="$1" started
    shift
    started="$(date +%s)"
    until "$@" >/dev/null 2>&1; do
        if (($(date +%s) - started >= timeout_s)); then
            return 1
        fi
        sleep 0.5
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_log() {
    echo "--- last lines of $1 ---" >&2
    tail -n 30 "$1" >&2 || true
}

install_packages() {
    local missing=() entry
    for entry in "${PACKAGES[@]}"; do
        command -v "${entry#*:}" >/dev/null 2>&1 || missing+=("${entry%%:*}")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >"$LOG_DIR/apt.log" 2>&1 || { show_log "$LOG_DIR/apt.log"; die "apt-get update failed"; }
    # Services are started by this script, not by the packages' init scripts (no systemd).
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1 \
        || { show_log "$LOG_DIR/apt.log"; die "apt-get install ${missing[*]} failed"; }
}

start_docker() {
    docker info >/dev/null 2>&1 && return 0
    say "starting dockerd (log: $LOG_DIR/dockerd.log)"
    setsid nohup dockerd >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
    wait_until 60 docker info || { show_log "$LOG_DIR/dockerd.log"; die "dockerd did not answer within 60 s"; }
}

start_redis() {
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
    say "starting redis on port $REDIS_PORT (log: $LOG_DIR/redis.log)"
    redis-server --daemonize yes --port "$REDIS_PORT" --save "" --appendonly no \
        --logfile "$LOG_DIR/redis.log" || die "redis-server did not start"
    wait_until 20 redis-cli -p "$REDIS_PORT" ping \
        || { show_log "$LOG_DIR/redis.log"; die "redis did not answer within 20 s"; }
}

start_rabbitmq() {
    port_open "$AMQP_PORT" && return 0
    say "starting rabbitmq (logs: /var/log/rabbitmq)"
    # Started but still booting (e.g. a second run right after the first): just wait.
    if ! rabbitmqctl status >/dev/null 2>&1; then
        rabbitmq-server -detached >>"$LOG_DIR/rabbitmq.log" 2>&1 \
            || { show_log "$LOG_DIR/rabbitmq.log"; die "rabbitmq-server did not start"; }
    fi
    # The AMQP port opens once the broker has booted, which is what clients need.
    wait_until 90 port_open "$AMQP_PORT" \
        || { show_log "$LOG_DIR/rabbitmq.log"; die "RabbitMQ did not open port $AMQP_PORT within 90 s"; }
}

main() {
    [ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts services)"
    mkdir -p "$LOG_DIR"
    install_packages
    start_docker
    start_redis
    start_rabbitmq
    "$HERE/build-sandbox-image.sh" || die "building the sandbox image failed"
}

main "$@"
