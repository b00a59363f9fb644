#!/bin/sh
# Container entry point. `broker` starts the broker and publishes its api.json
# (peer id) on the shared /broker volume; `node` waits for that file and starts
# a peer that knows the broker by address and peer id. Anything else is passed
# to the p2pay CLI.
set -eu
case "${1:-}" in
  broker)
    shift
    mkdir -p /data
    ( while [ ! -f /data/api.json ]; do sleep 0.5; done; cp /data/api.json /broker/api.json ) &
    exec p2pay broker start --data-dir /data --listen /ip4/0.0.0.0/tcp/4001 "$@"
    ;;
  node)
    shift
    i=0
    until [ -f /broker/api.json ]; do
      i=$((i + 1)); [ "$i" -gt 120 ] && { echo "broker did not publish /broker/api.json" >&2; exit 1; }
      sleep 0.5
    done
    id=$(sed -n 's/.*"peerId": *"\([^"]*\)".*/\1/p' /broker/api.json)
    exec p2pay node start --data-dir /data --listen /ip4/0.0.0.0/tcp/4001 --broker "/dns4/${BROKER_HOST:-broker}/tcp/4001/p2p/${id}" "$@"
    ;;
  *)
    exec p2pay "$@"
    ;;
esac
