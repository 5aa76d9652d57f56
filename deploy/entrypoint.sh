#!/bin/sh
# Start every role with an empty metrics directory: files left by a previous run of this
# container would otherwise be summed into the new one's counts.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete
fi
exec "$@"
