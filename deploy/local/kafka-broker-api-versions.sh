#!/bin/bash
# kafka-broker-api-versions.sh — stand-in, in the kafka-dev image, for the Apache
# Kafka tool of that name, as docker-compose.yml's kafka healthcheck calls it:
#   kafka-broker-api-versions.sh --bootstrap-server HOST:PORT
# Exits 0 when the broker answers a metadata request within 5 s (kcat -L), like
# the real tool does when it gets the brokers' API versions.
set -u
bootstrap=
while [ $# -gt 0 ]; do
    case $1 in
        --bootstrap-server) bootstrap=${2:-}; shift 2 ;;
        --bootstrap-server=*) bootstrap=${1#*=}; shift ;;
        *) echo "kafka-broker-api-versions.sh (kafka-dev stand-in): unsupported argument: $1" >&2
           exit 2 ;;
    esac
done
[ -n "$bootstrap" ] || { echo "usage: kafka-broker-api-versions.sh --bootstrap-server HOST:PORT" >&2; exit 2; }
exec kcat -L -q -b "$bootstrap" -m 5
