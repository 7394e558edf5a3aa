#!/bin/bash
# deploy/local/base-images.sh — make the Debian 12 base images (debian:12 and
# debian:12-slim) in the local podman store without a registry.
#
# Usage: deploy/local/base-images.sh [--force]
#
# When both tags already exist (pulled from a registry, or made by an earlier run)
# it does nothing. Otherwise it builds a minimal root filesystem with
# `debootstrap --variant=minbase bookworm` from the machine's Debian mirror, keeps
# it as a tarball in the cache directory (so the next machine state without the
# images imports it in seconds), and imports it as both tags. The Dockerfiles only
# need an apt-capable Debian 12 under those names; minbase is what the official
# debian:12-slim image holds too (essential packages + apt).
#
# Environment:
#   NIMBUS_DEPLOY_CACHE  cache directory (default ${XDG_CACHE_HOME:-~/.cache}/nimbus/deploy)
#   DEBIAN_MIRROR        mirror for debootstrap (default: the first deb URI in /etc/apt)
#   CONTAINERS_CONF      passed through to podman as usual
# Needs root (debootstrap), debootstrap and podman.
set -euo pipefail

force=0
[ "${1:-}" = --force ] && force=1

cache=${NIMBUS_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nimbus/deploy}
suite=bookworm
tarball="$cache/debian-$suite-minbase-slim.tar"
tags=(debian:12 debian:12-slim)

say() { printf 'base-images: %s\n' "$*"; }
die() { printf 'base-images: error: %s\n' "$*" >&2; exit 1; }

have_image() { podman image exists "$1" 2>/dev/null; }

if [ "$force" = 0 ]; then
    missing=0
    for t in "${tags[@]}"; do have_image "$t" || missing=1; done
    if [ "$missing" = 0 ]; then
        say "debian:12 and debian:12-slim are present"
        exit 0
    fi
fi

command -v podman >/dev/null || die "podman is not installed (apt-get install podman)"

if [ "$force" = 1 ] || [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    mirror=${DEBIAN_MIRROR:-}
    if [ -z "$mirror" ]; then
        mirror=$(grep -hsE '^(URIs:|deb) ' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list |
                 grep -v security | sed -E 's/^URIs: //; s/^deb (\[[^]]*\] )?//; s/ .*//' | head -n 1 || true)
        mirror=${mirror:-http://deb.debian.org/debian}
    fi
    mkdir -p "$cache"
    root=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    say "debootstrap --variant=minbase $suite from $mirror (first run on this machine: about a minute)"
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed (log: $cache/debootstrap.log)"; }
    # What the official slim image trims: package caches and lists (the Dockerfiles
    # run apt-get update themselves), and documentation, manuals and translations,
    # also those of every package installed later (dpkg path-exclude).
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
        'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/lintian/*' \
        >"$root/etc/dpkg/dpkg.cfg.d/nimbus-slim"
    find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    trap - EXIT
    say "cached $tarball ($(du -m "$tarball" | cut -f1) MB)"
else
    say "using cached $tarball"
fi

podman import -q --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
    --message "debootstrap --variant=minbase $suite" "$tarball" "${tags[0]}" >/dev/null
for t in "${tags[@]:1}"; do podman tag "${tags[0]}" "$t"; done
say "imported ${tags[*]}"
