#!/bin/sh
# Makes the base image the Dockerfiles build FROM, for a machine whose Docker engine cannot pull from
# a registry: `golang:1.26`, made with `docker import` from the Go toolchain installed on this host.
# The final stages are `FROM scratch`, which is never pulled, so nothing else is needed.
#
# The image holds /usr/local/go, a static busybox (so shell-form RUN works), CA certificates (so
# `go mod download` reaches the module proxy over TLS), /etc/passwd, /tmp, a build cache holding
# the standard library compiled as the Dockerfiles compile (see below), and the same ENV as
# the official image (PATH, GOPATH) plus GOROOT and GOTOOLCHAIN=local so the local toolchain is
# used as is.
#
# Usage: scripts/docker-base-images.sh [-f]    -f replaces an existing golang:1.26 image.
# Env:   GOROOT_SRC (default: `go env GOROOT`), BASE_TAG (default golang:1.26).
set -eu

tag=${BASE_TAG:-golang:1.26}
force=0
[ "${1:-}" = "-f" ] && force=1

if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
	echo "$tag already present"
	exit 0
fi

goroot=${GOROOT_SRC:-$(go env GOROOT 2>/dev/null || echo /usr/local/go)}
[ -x "$goroot/bin/go" ] || { echo "docker-base-images.sh: no Go toolchain at $goroot" >&2; exit 1; }
gover=$("$goroot/bin/go" env GOVERSION)
case "$gover" in
go1.26*) ;;
*) echo "docker-base-images.sh: $goroot holds $gover, the Dockerfiles expect go1.26" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

# busybox: Debian's busybox-static is a single static binary; `apt-get download` fetches the .deb
# without installing anything on the host. An already present static busybox is used as is.
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then busybox=$b; break; fi
done
if [ -z "$busybox" ]; then
	(cd "$work" && apt-get download busybox-static >/dev/null 2>&1) ||
		{ [ "$(id -u)" = 0 ] && apt-get update >/dev/null && (cd "$work" && apt-get download busybox-static >/dev/null); } ||
		{ echo "docker-base-images.sh: cannot fetch busybox-static (apt-get download failed)" >&2; exit 1; }
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
	busybox=$work/bb/bin/busybox
fi

mkdir -p "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/root" "$root/go/bin" "$root/go/src" "$root/usr/local"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"

cert=
for c in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
	[ -f "$c" ] && { cert=$c; break; }
done
[ -n "$cert" ] || { echo "docker-base-images.sh: no CA bundle found on the host" >&2; exit 1; }
cp "$cert" "$root/etc/ssl/certs/ca-certificates.crt"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

# A warm build cache for the standard library, compiled as the Dockerfiles compile it (static,
# -trimpath): it saves a minute or more of every cold image build on a small machine. The official
# image has no such cache; it changes speed only, never the binaries.
echo "compiling the standard library for the image's build cache..."
mkdir -p "$root/root/.cache"
GOCACHE=$root/root/.cache/go-build GOROOT=$goroot CGO_ENABLED=0 GOFLAGS= GOOS=linux GOARCH=amd64 \
	"$goroot/bin/go" build -trimpath std

# The toolchain is streamed from its place rather than copied into the staging tree.
echo "importing $gover from $goroot as $tag..."
tar -C "$root" -cf "$work/base.tar" --owner=0 --group=0 .
tar -C "$goroot/.." -rf "$work/base.tar" --owner=0 --group=0 \
	--transform "s,^$(basename "$goroot")\(/\|$\),./usr/local/go\1,S" "$(basename "$goroot")"
docker import \
	--change 'ENV PATH=/go/bin:/usr/local/go/bin:/bin' \
	--change 'ENV GOROOT=/usr/local/go' \
	--change 'ENV GOPATH=/go' \
	--change 'ENV GOTOOLCHAIN=local' \
	--change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
	--change 'WORKDIR /go' \
	--change 'CMD ["/bin/sh"]' \
	--change "LABEL httplab.base=local httplab.go=$gover" \
	"$work/base.tar" "$tag" >/dev/null
echo "made $tag ($gover, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
