#!/bin/sh
# SPDX-License-Identifier: MIT
# build-deb.sh OUTDIR: builds the Debian binary packages (packaging/debian) from a clean copy of
# the source tree and leaves the .deb, .changes and .buildinfo files in OUTDIR. dpkg-buildpackage
# wants debian/ at the root of the source, so the copy gets packaging/debian as debian/.
# DEB_BUILD_OPTIONS=nocheck skips the package's own `make check`.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
for tool in dpkg-buildpackage dh; do
    command -v $tool >/dev/null || {
        echo "$tool is missing. Run as root: apt-get install -y dpkg-dev debhelper fakeroot" >&2; exit 1; }
done

version=$(sed -n 's/^VERSION *:= *//p' "$top/Makefile")
stage=$(mktemp -d "${TMPDIR:-/tmp}/forkvisor-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
# mktemp makes it 0700; the package's `make check` runs workers as other users (user = nobody),
# who must reach the build's programs.
chmod 0755 "$stage"
src=$stage/forkvisor-$version
mkdir "$src"

# The tracked files as they are in the work tree (uncommitted edits included, so what is packaged
# is what `make check` just tested; untracked files and build output left out). Outside a git
# checkout, everything but build output.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # --ignore-failed-read: a tracked file deleted in the work tree is left out, with a warning.
    git -C "$top" ls-files -z | tar -C "$top" --null -T - --ignore-failed-read -cf - | tar -C "$src" -xf -
else
    tar -C "$top" --exclude=./build --exclude=./build-san --exclude=./debian --exclude=./.git -cf - . |
        tar -C "$src" -xf -
fi
cp -R "$src/packaging/debian" "$src/debian"

changelog=$(cd "$src" && dpkg-parsechangelog -SVersion)
if [ "$changelog" != "$version" ]; then
    echo "packaging/debian/changelog is at $changelog but the Makefile's VERSION is $version" >&2
    exit 1
fi

(cd "$src" && dpkg-buildpackage -us -uc -b)

rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mv "$stage"/*.deb "$stage"/*.changes "$stage"/*.buildinfo "$out"/
echo "Debian packages in $out:"
ls -1 "$out"
