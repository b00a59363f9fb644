#!/bin/sh
# Container entry point. `broker`, `ttp` and `judge` start their daemon and
# publish its api.json (peer id) on their own shared volume (/broker, /ttp,
# /judge); `ttp`, `judge` and `node` wait for the broker's file and start a
# daemon that knows the broker by address and peer id. A node whose container
# mounts /ttp or /judge also waits for that file and is told about it. The
# broker must know the judge's peer id before the judge (which needs the
# broker's) can start, so the judge publishes identity.json first, and a
# broker that mounts /judge waits for that. Anything else is passed to the
# p2pay CLI.
set -eu

# wait_for <file> <who>: bounded wait (60 s) for a published api.json
wait_for () {
  i=0
  until [ -f "$1" ]; do
    i=$((i + 1)); [ "$i" -gt 120 ] && { echo "$2 did not publish $1" >&2; exit 1; }
    sleep 0.5
  done
}
peer_id () { sed -n 's/.*"peerId": *"\([^"]*\)".*/\1/p' "$1"; }
# publish <dir>: copies /data/api.json there once the daemon has written it
publish () { ( while [ ! -f /data/api.json ]; do sleep 0.5; done; cp /data/api.json "$1/api.json" ) & }
broker_addr () {
  wait_for /broker/api.json broker
  echo "/dns4/${BROKER_HOST:-broker}/tcp/4001/p2p/$(peer_id /broker/api.json)"
}

case "${1:-}" in
  broker)
    shift
    mkdir -p /data
    judge=""
    if [ -d /judge ]; then
      wait_for /judge/identity.json judge
      judge="--judge $(peer_id /judge/identity.json)"
    fi
    publish /broker
    # shellcheck disable=SC2086
    exec p2pay broker start --data-dir /data --listen /ip4/0.0.0.0/tcp/4001 $judge "$@"
    ;;
  ttp)
    shift
    broker=$(broker_addr)
    mkdir -p /data
    publish /ttp
    exec p2pay ttp start --data-dir /data --listen /ip4/0.0.0.0/tcp/4001 --bootstrap "$broker" "$@"
    ;;
  judge)
    shift
    p2pay identity --data-dir /data --json > /judge/identity.json.tmp && mv /judge/identity.json.tmp /judge/identity.json
    broker=$(broker_addr)
    publish /judge
    exec p2pay judge start --data-dir /data --listen /ip4/0.0.0.0/tcp/4001 --broker "$broker" "$@"
    ;;
  node)
    shift
    broker=$(broker_addr)
    extra=""
    if [ -d /ttp ]; then
      wait_for /ttp/api.json ttp
      extra="$extra --ttp /dns4/${TTP_HOST:-ttp}/tcp/4001/p2p/$(peer_id /ttp/api.json)"
    fi
    if [ -d /judge ]; then
      wait_for /judge/api.json judge
      extra="$extra --judge /dns4/${JUDGE_HOST:-judge}/tcp/4001/p2p/$(peer_id /judge/api.json)"
    fi
    # $extra is word-split on purpose: flags and multiaddrs hold no spaces
    # shellcheck disable=SC2086
    exec p2pay node start --data-dir /data --listen /ip4/0.0.0.0/tcp/4001 --broker "$broker" $extra "$@"
    ;;
  *)
    exec p2pay "$@"
    ;;
esac
