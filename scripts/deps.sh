#!/usr/bin/env bash
# Installs the Debian packages lambdaeng needs to build and test, if any is missing.
# This is the one list: CMakeLists.txt, the README, CI (scripts/test.sh) and the
# benchmarks (bench/run.sh, with --bench) refer to it.
set -euo pipefail

# Lua itself is NOT a package here: it is vendored (third_party/lua, Lua 5.4.8) because
# bookworm's liblua5.4 5.4.4 crashed lambdaeng (stack bugs fixed in 5.4.5-5.4.8).
# lua-cjson-dev is kept: its static library uses only the stable 5.4 C API, and the build
# takes its header alone. liblua5.4-dev stays for luarocks' 5.4 trees (test_module_search),
# not for the build: CMakeLists.txt never looks at Debian's Lua headers or library.
# picohttpparser (the local target's server's request parser) is not a package either: two
# files vendored in third_party/picohttpparser (h2o/picohttpparser, commit f8326098, MIT;
# its README says why). libhttp-parser-dev stays: the client's own transport
# (engine/httpwire.c) reads answers with it.
# libcurl is Debian 12's 7.88 on purpose: bookworm-backports' 8.14.1 was measured slower per
# request (+6 to +12 % of the client's instructions; bench/NOTES.md, W6), so it is not added.
# libcurl4-openssl-dev gives the build libcurl's headers (and libcurl4, which it depends on);
# the binary is not linked with it: it loads libcurl.so.4 when a request needs it
# (engine/curlload.h).
PACKAGES=(
  build-essential cmake pkg-config
  liblua5.4-dev lua-cjson-dev lua-argparse libjansson-dev libssl-dev zlib1g-dev
  libcurl4-openssl-dev libuv1-dev libedit-dev libhttp-parser-dev libzip-dev
  libbsd-dev libmimalloc-dev libcmocka-dev python3 nodejs curl unzip zip tmux strace bubblewrap iproute2 util-linux
  zsh fish luarocks
  clang libclang-rt-dev
  openssl # (the command: integration.aws_client_tls makes its https server's certificate with it)
)

# --bench: what bench/run.sh needs besides (valgrind; npm, unless NodeSource's nodejs carries it).
if [ "${1:-}" = "--bench" ]; then
  PACKAGES+=(valgrind)
  command -v npm >/dev/null || PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
