#!/bin/bash
# deploy/healthcheck.sh — container health probe that needs no curl.
#
# Usage: nimbus-healthcheck <port> [path]     (path defaults to /healthz)
# Sends "GET <path> HTTP/1.0" to 127.0.0.1:<port> through bash's /dev/tcp and
# exits 0 only when the status line is 200. Connecting to loopback either
# succeeds or is refused at once; the read is bounded (3 s) so a wedged daemon
# fails the check instead of hanging it.
set -u
port=${1:?usage: nimbus-healthcheck <port> [path]}
path=${2:-/healthz}

exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: nimbus-healthcheck\r\n\r\n' "$path" >&3
status=
IFS= read -r -t 3 status <&3
exec 3<&-
case $status in
    "HTTP/1."[01]" 200"*) exit 0 ;;
    *) printf 'unhealthy: %s %s -> %s\n' "$port" "$path" "${status%$'\r'}" >&2; exit 1 ;;
esac
