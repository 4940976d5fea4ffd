#!/bin/sh
# A throwaway archive cluster on loopback: PostgreSQL (database and bus), N origins, nginx.
#   deploy/cluster.sh up DIR --origins N --port P    -> DIR/cluster.json
#   deploy/cluster.sh down DIR
# (also pg-stop DIR, pg-start DIR, origin-start DIR I for failure drills; see deploy/cluster.py)
# Runs with the project's virtualenv when there is one (.venv), else python3 (JIMAKU_PYTHON wins).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py=${JIMAKU_PYTHON:-}
if [ -z "$py" ]; then
    if [ -x "$here/../.venv/bin/python" ]; then py="$here/../.venv/bin/python"; else py=python3; fi
fi
exec "$py" "$here/cluster.py" "$@"
