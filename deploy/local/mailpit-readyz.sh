#!/bin/sh
# /mailpit in the local mail-catcher image: `mailpit readyz` (the healthcheck
# docker-compose.yml gives the mailpit service) is 0 when the web view answers.
[ "${1:-}" = readyz ] || { echo "this stand-in only answers: mailpit readyz" >&2; exit 2; }
exec /usr/bin/python3 -c 'import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:8025/readyz", timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)'
