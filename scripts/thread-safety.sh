#!/usr/bin/env bash
# clang -Wthread-safety over every source file of src/ that sees common/mutex.h (directly or
# through the headers that include it): the checks behind CACHET_GUARDED_BY and CACHET_REQUIRES.
# Syntax only, so it costs a parse per file (~15 s for the dozen files today), not a build.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"

# Headers that include common/mutex.h, then those that include one of them, until none is new.
seen=("common/mutex.h")
while true; do
  pattern=$(printf '#include "%s"|' "${seen[@]}")
  pattern="${pattern%|}"
  mapfile -t next < <(grep -lE "$pattern" src/*/*.h | sed 's|^src/||' | sort -u)
  mapfile -t all < <(printf '%s\n' "common/mutex.h" "${next[@]}" | sort -u)
  [ "${#all[@]}" -eq "${#seen[@]}" ] && break
  seen=("${all[@]}")
done
mapfile -t files < <(grep -lE "$pattern" src/*/*.cc)

echo "thread-safety: clang -Wthread-safety on ${#files[@]} files"
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 2 clang++ -std=c++20 -fsyntax-only -Wthread-safety -Werror -Isrc
