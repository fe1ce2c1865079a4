# Sourced by the other scripts: make .venv with the pinned dependencies, check Java.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python_bin="${HOUSEMON_PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
if [ -z "$python_bin" ]; then
  echo "housemon needs Python 3.11 or 3.12; none was found on PATH" >&2
  exit 1
fi
if ! command -v java >/dev/null 2>&1; then
  echo "housemon needs a Java runtime (JDK 17 or 21) for local Spark, and 'java' is not on PATH." >&2
  echo "Install one, e.g. 'apt-get install openjdk-17-jdk-headless', or set JAVA_HOME and PATH." >&2
  exit 1
fi

stamp=".venv/.housemon-installed"
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "Installing housemon and its pinned dependencies into .venv (about a minute)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
  touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
export HOUSEMON_HOME="${HOUSEMON_HOME:-$root/.housemon}"
