# Sourced by the other scripts: a project-local virtualenv with the package installed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
extras=${1:-}
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip's output goes to a log and is shown only when the install fails
log=$(mktemp)
echo "installing aigc-provenance${extras:+[$extras]} into .venv (log: $log) ..."
if ! { .venv/bin/python -m pip install --upgrade pip \
       && .venv/bin/python -m pip install -e ".${extras:+[$extras]}"; } >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "install failed; the full log is $log" >&2
  exit 1
fi
export PATH="$root/.venv/bin:$PATH"
