#!/bin/bash
# redis-entrypoint.sh — entrypoint of the local redis image (deploy/local/Dockerfile),
# behaving like the official redis image's: options alone run redis-server with
# them, and protected mode is off (that image compiles it off) so the other
# containers of the network can connect; what is exposed is compose's choice.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ]; then
    shift
    set -- redis-server --protected-mode no "$@"
fi
exec "$@"
