#!/usr/bin/env bash
# Two containers on the isokit0 bridge: a web server and a client that
# fetches a page from it by address; then both are stopped. The whole
# "orchestration" is a shell script, because each step is a command.
#
# Usage: sudo examples/two-tier.sh
set -euo pipefail
scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")/../scripts" && pwd)
server_ip=10.88.0.10

# 1. The server, detached: busybox httpd serving one page.
# shellcheck disable=SC2016 # $(hostname) is expanded inside the container
"$scripts/contain" -d --name web --net bridge --ip "$server_ip" -- \
    sh -c 'mkdir -p /www && echo "hello from $(hostname)" >/www/index.html && exec httpd -f -p 80 -h /www'
trap '"$scripts/ckill" web TERM 2>/dev/null || true' EXIT

# 2. The client, in the foreground: wait for the server, fetch the page.
"$scripts/contain" --name client --net bridge -- \
    sh -c "for i in \$(seq 100); do wget -q -O - http://$server_ip/ 2>/dev/null && exit 0; sleep 0.1; done; echo 'no answer from web' >&2; exit 1"

# 3. Stop the server (the trap does it); its state, cgroup and address
#    are released when it exits.
