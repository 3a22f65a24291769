#!/bin/sh
# Installs the Debian packages FlowPlane builds and tests with, when any is missing.
set -eu
pkgs="libbpf-dev libelf-dev zlib1g-dev libsqlite3-dev iproute2 ethtool iputils-ping bpftool gnuplot-nox"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # shellcheck disable=SC2086
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi
