#!/usr/bin/env bash
# Stop a FreeRADIUS started by tools/freeradius/start.sh DIR ... (pid in DIR/radiusd.pid).
# Usage: tools/freeradius/stop.sh DIR
# Exit 0 when no server from DIR runs any more (also when none was running).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
PIDFILE="$1/radiusd.pid"
[ -s "$PIDFILE" ] || exit 0
PID="$(cat "$PIDFILE")"
case "$PID" in '' | *[!0-9]*) echo "stop.sh: bad pid file $PIDFILE" >&2; exit 1 ;; esac

# Only signal the pid if it still is a FreeRADIUS process (the pid may have been reused).
is_radiusd() { grep -qE '^(freeradius|radiusd)$' "/proc/$PID/comm" 2>/dev/null; }
if is_radiusd; then
  kill -TERM "$PID" 2>/dev/null || true
  for _ in $(seq 1 50); do
    is_radiusd || break
    sleep 0.1
  done
  if is_radiusd; then
    kill -KILL "$PID" 2>/dev/null || true
    sleep 0.2
  fi
fi
rm -f "$PIDFILE"
