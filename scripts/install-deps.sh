#!/usr/bin/env bash
# Installs the Debian packages cachet needs that are missing, and nothing else.
#   install-deps.sh build   compiler, CMake, libraries
#   install-deps.sh test    build + what the test suites drive (clients, Django, tools)
#   install-deps.sh fuzz    build + clang and its libFuzzer runtime
#   install-deps.sh bench   build + Google Benchmark, memcached to compare with, matplotlib
set -euo pipefail

build_pkgs=(g++ cmake make libgtest-dev libgmock-dev libxxhash-dev ccache libssl-dev
            libsasl2-dev libisal-dev)
# memcached: its memcached-tool (and the reference binary); nutcracker: twemproxy scale-out tests;
# clang-format and clang: the format and thread-safety gates of make test; openssl, sasl2-bin
# (saslpasswd2), libsasl2-modules (PLAIN, CRAM-MD5, sasldb): the TLS and SASL tests make their
# certificates and users; php-memcached: a SASL client in another language; python3-msgpack and
# python3-zstandard: cachet_django's optional serializer and compressor.
test_pkgs=(python3 python3-pytest python3-pymemcache python3-pylibmc python3-memcache
           python3-binary-memcached python3-django python3-msgpack python3-zstandard
           libmemcached-tools memcached nutcracker
           python3-prometheus-client clang-format clang openssl sasl2-bin libsasl2-modules
           php-cli php-memcached)

pkgs=("${build_pkgs[@]}")
fuzz_pkgs=(clang libclang-rt-14-dev)
bench_pkgs=(libbenchmark-dev memcached python3 python3-matplotlib)
case "${1:-build}" in
  test) pkgs+=("${test_pkgs[@]}") ;;
  fuzz) pkgs+=("${fuzz_pkgs[@]}") ;;
  bench) pkgs+=("${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
