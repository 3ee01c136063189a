#!/bin/sh
# Builds the network of the blocked-direct-path test (test/e2e/blocked-direct-path.test.ts):
#
#   PREFIX-a    eth0 10.77.1.2/24 ─┐
#   PREFIX-b    eth0 10.77.2.2/24 ─┼─ PREFIX-router (10.77.1.1, 10.77.2.1, 10.77.3.1; forwards)
#   PREFIX-turn eth0 10.77.3.2/24 ─┘
#
# The router's nftables drop every packet between a and b (with counters, so the test can show direct
# attempts were made and dropped) while both reach turn. Addresses exist only inside these namespaces; the
# host's own namespace gets no interface, address or route. Leftovers of a crashed run are removed first.
# Usage: setup.sh [PREFIX]   (default sbe2e; needs root, iproute2 and nftables)
set -eu
prefix=${1:-sbe2e}
here=$(dirname "$0")
"$here/teardown.sh" "$prefix"

for name in a b turn router; do
  ip netns add "$prefix-$name"
  ip -n "$prefix-$name" link set lo up
done

# connect LEAF ROUTER_IF LEAF_ADDRESS ROUTER_ADDRESS: a veth pair from the leaf's eth0 to the router.
connect() {
  ip -n "$prefix-$1" link add eth0 type veth peer name "$2" netns "$prefix-router"
  ip -n "$prefix-$1" addr add "$3/24" dev eth0
  ip -n "$prefix-$1" link set eth0 up
  ip -n "$prefix-router" addr add "$4/24" dev "$2"
  ip -n "$prefix-router" link set "$2" up
  ip -n "$prefix-$1" route add default via "$4"
}
connect a to-a 10.77.1.2 10.77.1.1
connect b to-b 10.77.2.2 10.77.2.1
connect turn to-turn 10.77.3.2 10.77.3.1

ip netns exec "$prefix-router" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$prefix-router" nft -f - <<'RULES'
table inet e2e {
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr 10.77.1.0/24 ip daddr 10.77.2.0/24 counter drop comment "a-to-b"
    ip saddr 10.77.2.0/24 ip daddr 10.77.1.0/24 counter drop comment "b-to-a"
  }
}
RULES
