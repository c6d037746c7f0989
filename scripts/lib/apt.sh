# shellcheck shell=bash
# Installing Debian packages from the project's scripts (scripts/cross/*, scripts/actionlint.sh):
# sourced, never run. Callers set `set -euo pipefail` and run as root.

# Bounds every wait on another apt/dpkg process (seconds).
APT_WAIT_SECONDS=900

# Another script or the image setup may hold the dpkg lock; apt-get would fail at once.
apt_wait() {
  local waited=0
  while pgrep -x apt-get >/dev/null || pgrep -x dpkg >/dev/null; do
    if ((waited >= APT_WAIT_SECONDS)); then
      printf 'apt: apt-get/dpkg still running after %ss\n' "$APT_WAIT_SECONDS" >&2
      return 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
}

# Installs the Debian packages (name or name:arch) that are not installed yet; no-op otherwise.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  printf '== apt-get install %s\n' "${missing[*]}" >&2
  apt_wait
  # Package lists older than a day (or none yet, as on a fresh machine) are refreshed first.
  if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit 2>/dev/null)" ]]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
