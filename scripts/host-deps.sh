#!/usr/bin/env bash
# Installs the Debian packages the lab, the .deb build and its checks need on this host, only if missing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have debootstrap || need+=(debootstrap)
have systemd-nspawn || need+=(systemd-container)
have ip || need+=(iproute2)
have iptables || need+=(iptables)
have dpkg-deb || need+=(dpkg)
have lintian || need+=(lintian)
have curl || need+=(curl)
have nsenter || need+=(util-linux)
have promtool || need+=(prometheus)
# The catalog query test runs Debian's psql as the OS user postgres against npm's embedded server builds.
have psql || need+=(postgresql-client)
getent passwd postgres >/dev/null || need+=(postgresql-common)

if [ "${#need[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "pgduplex: the lab needs root to install: ${need[*]} (run as root or install them yourself)" >&2
  exit 1
fi
echo "installing host packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null >/dev/null
