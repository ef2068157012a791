#!/bin/bash
# crun's test suite calls its runtime with crun's flags; this passes them to bunc (runc's
# flags): --cgroup-manager systemd is --systemd-cgroup, cgroupfs is the default, and
# --config config.json is the bundle's own. Anything else goes to bunc as it is.
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroup-manager)
      [ "$2" = systemd ] && args+=(--systemd-cgroup)
      shift 2 ;;
    --config)
      [ "$2" = config.json ] || args+=("$1" "$2")
      shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
exec "$BUNC" "${args[@]}"
