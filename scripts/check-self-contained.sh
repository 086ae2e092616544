#!/usr/bin/env bash
# Fails if a tracked file points outside the repository with `../`: a user
# clones it into an empty folder, with nothing beside it.
#
# Every `../…` path in a tracked file must name something that exists inside
# this tree, resolved from the file's own directory, from its crate's
# directory (the nearest one with a Cargo.toml: where cargo and the
# `path =` of macros resolve), or from the repository root. A `../` that
# leaves the tree from all three, or names nothing there, is reported with
# its file and line.
#   scripts/check-self-contained.sh [REPOSITORY]
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && git rev-parse --show-toplevel)
cd "$root"

# The directory of the nearest Cargo.toml at or above $1 (a directory).
crate_dir() {
  local dir=$1
  while [ "$dir" != . ] && [ ! -e "$dir/Cargo.toml" ]; do
    dir=$(dirname "$dir")
  done
  echo "$dir"
}

# Whether $2, taken from directory $1, names an existing path inside the tree.
inside() {
  local base=$1 reference=$2
  # A glob names what its fixed part names.
  reference=${reference%%\**}
  local resolved
  resolved=$(realpath -m --relative-to="$root" "$root/$base/$reference")
  case "$resolved" in
    ..|../*) return 1 ;;
  esac
  [ -e "$root/$resolved" ]
}

bad=0
while IFS= read -r match; do
  file=${match%%:*}
  rest=${match#*:}
  line=${rest%%:*}
  reference=${rest#*:}
  dir=$(dirname "$file")
  if inside "$dir" "$reference" || inside "$(crate_dir "$dir")" "$reference" \
    || inside . "$reference"; then
    continue
  fi
  echo "$file:$line: \`$reference\` points outside the repository (or at nothing in it)" >&2
  bad=1
done < <(git grep -n -o -I -E '(\.\./)+[A-Za-z0-9_.*/~-]*' -- . ':!Cargo.lock' ':!*/Cargo.lock')

if [ "$bad" -ne 0 ]; then
  echo "check-self-contained: the repository must stand alone" >&2
  exit 1
fi
echo "check-self-contained: every ../ stays inside the repository"
