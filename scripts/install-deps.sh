#!/usr/bin/env bash
# Installs everything meshctl needs to build and test, from Debian 12's packages.
# Safe to run again: packages already present are not touched, and nothing is fetched twice.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config file git dpkg-dev
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libfmt-dev catch2
  libssl-dev openssl libboost1.81-dev libnghttp2-dev libc-ares-dev
  libcpp-httplib-dev
  iptables iproute2 tcpdump curl nghttp2-client wrk util-linux
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's binary package splits cpp-httplib into a shared library; a static binary needs the
# single header, which only Debian's source package carries.
httplib_dir=/usr/local/include/cpp-httplib
if [ ! -f "$httplib_dir/httplib.h" ]; then
  echo "install-deps: unpacking cpp-httplib's single header from Debian's source package"
  if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    src_list=/etc/apt/sources.list.d/meshctl-deb-src.sources
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | "${sudo_cmd[@]}" tee "$src_list" >/dev/null
    else
      printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        | "${sudo_cmd[@]}" tee "$src_list" >/dev/null
    fi
    "${sudo_cmd[@]}" apt-get update -qq
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get source -qq cpp-httplib >/dev/null 2>&1)
  header=$(find "$work" -maxdepth 2 -name httplib.h -path '*cpp-httplib-*' | head -n1)
  [ -n "$header" ] || { echo "install-deps: cpp-httplib source has no httplib.h" >&2; exit 1; }
  "${sudo_cmd[@]}" mkdir -p "$httplib_dir"
  "${sudo_cmd[@]}" install -m 0644 "$header" "$httplib_dir/httplib.h"
fi
