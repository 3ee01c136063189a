#!/bin/sh
# Deletes the namespaces setup.sh made (their veth pairs and nftables go with them). Safe to run twice.
# Usage: teardown.sh [PREFIX]   (default sbe2e)
prefix=${1:-sbe2e}
for name in a b turn router; do
  if ip netns list | grep -qw "^$prefix-$name"; then
    ip netns delete "$prefix-$name" || true
  fi
done
exit 0
