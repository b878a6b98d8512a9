#!/bin/sh
# Builds Docker Compose v2 from the Go module proxy and installs it as a Docker CLI plugin, so that
# `docker compose ...` (what users type) works on a machine that only has docker-compose 1.29.
#
# `go install github.com/docker/compose/v2/cmd@VERSION` is refused because compose's go.mod carries
# `exclude` directives, so the module is downloaded and built from a writable copy instead.
#
# Usage: scripts/compose-v2.sh [-f]     -f rebuilds even if the wanted version is installed.
# Env:   COMPOSE_VERSION (default v2.40.3), DOCKER_CONFIG (default ~/.docker).
set -eu

version=${COMPOSE_VERSION:-v2.40.3}
plugin_dir=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
plugin=$plugin_dir/docker-compose

force=0
[ "${1:-}" = "-f" ] && force=1

# Quick path: the plugin is there and reports the version we want.
if [ "$force" = 0 ] && [ -x "$plugin" ]; then
	if "$plugin" version --short 2>/dev/null | grep -qx "${version#v}"; then
		echo "docker compose $version already installed at $plugin"
		exit 0
	fi
fi

command -v go >/dev/null 2>&1 || { echo "compose-v2.sh: needs the go command" >&2; exit 1; }

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# GOWORK=off and GOFLAGS=-mod=mod keep a surrounding workspace or vendor setting out of this build.
dir=$(cd "$work" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || { echo "compose-v2.sh: could not download github.com/docker/compose/v2@$version" >&2; exit 1; }

# The module cache is read-only; the build writes nothing into the tree, but go refuses to treat a
# module-cache directory as a main module, so build from a copy.
cp -R "$dir" "$work/src"
chmod -R u+w "$work/src"

mkdir -p "$plugin_dir"
echo "building docker compose $version (about 100 s on 2 cores)..."
(cd "$work/src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
	-o "$plugin.tmp" ./cmd)
mv "$plugin.tmp" "$plugin"
docker compose version
