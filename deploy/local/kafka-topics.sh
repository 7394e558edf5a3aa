#!/bin/bash
# kafka-topics.sh — stand-in, in the kafka-dev image, for the Apache Kafka tool,
# as docker-compose.yml's kafka-init job calls it:
#   kafka-topics.sh --bootstrap-server B --create [--if-not-exists] --topic T
#                   --partitions N [--replication-factor R]
#   kafka-topics.sh --bootstrap-server B --list
# The dev broker (librdkafka's mock cluster) cannot create topics over the
# protocol: it creates them at start (kafka-dev-broker --topic T --partitions N,
# see deploy/compose.local.yml). So --create checks, with kcat, that the topic
# exists with N partitions and fails with the reason if not. Like the real tool
# it waits (here up to 60 s) for the broker to answer first.
set -u
me="kafka-topics.sh (kafka-dev stand-in)"
bootstrap= action= topic= partitions= if_not_exists=0
while [ $# -gt 0 ]; do
    case $1 in
        --bootstrap-server) bootstrap=${2:-}; shift 2 ;;
        --create|--list) action=${1#--}; shift ;;
        --if-not-exists) if_not_exists=1; shift ;;
        --topic) topic=${2:-}; shift 2 ;;
        --partitions) partitions=${2:-}; shift 2 ;;
        --replication-factor) shift 2 ;; # one broker holds every replica
        *) echo "$me: unsupported argument: $1" >&2; exit 2 ;;
    esac
done
[ -n "$bootstrap" ] && [ -n "$action" ] || { echo "$me: need --bootstrap-server and --create or --list" >&2; exit 2; }

metadata=
for _ in $(seq 1 12); do
    metadata=$(kcat -L -q -b "$bootstrap" -m 5 2>&1) && break
    metadata=
done
[ -n "$metadata" ] || { echo "$me: broker $bootstrap did not answer within 60 s" >&2; exit 1; }

if [ "$action" = list ]; then
    sed -n 's/^  topic "\(.*\)" with .*/\1/p' <<<"$metadata"
    exit 0
fi

[ -n "$topic" ] || { echo "$me: --create needs --topic" >&2; exit 2; }
have=$(sed -n "s/^  topic \"$(printf '%s' "$topic" | sed 's/[.[\*^$/]/\\&/g')\" with \([0-9]*\) partitions.*/\1/p" <<<"$metadata")
if [ -z "$have" ]; then
    echo "$me: topic $topic does not exist and the dev broker cannot create topics over the protocol;" \
         "start kafka-dev-broker with --topic $topic" >&2
    exit 1
fi
if [ -n "$partitions" ] && [ "$have" != "$partitions" ]; then
    echo "$me: topic $topic has $have partitions, $partitions asked: start kafka-dev-broker with --partitions $partitions" >&2
    exit 1
fi
[ "$if_not_exists" = 1 ] || echo "$me: topic $topic already exists (created by kafka-dev-broker)" >&2
echo "Topic $topic: $have partitions (created by kafka-dev-broker at start)"
