#!/usr/bin/env bash
# Builds the API reference of the public headers (include/runtools/) with
# Doxygen, installing doxygen if it is missing. Any Doxygen warning fails the
# build. Before that, checks that every "§N" section the repository cites
# (comments, READMEs, docs/) is a numbered heading of docs/wire-contract.md,
# and every gap "G<n>" cited next to one is a row of its §7.
#
#   scripts/docs.sh                         # HTML in build/docs/html
#   RUNTOOLS_DOCS_DIR=/tmp/api scripts/docs.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! command -v doxygen >/dev/null 2>&1; then
  "$root/scripts/install-deps.sh" doxygen
fi

contract=docs/wire-contract.md

# --- Citations: every section number cited must be a heading of the contract.
# Headings look like "## 4. Endpoints" or "#### 4.1.3 Endpoints"; section signs that
# follow "RFC nnnn " or "HTML " cite outside standards and are skipped.
mapfile -t headings < <(sed -nE 's/^#{2,4} ([0-9]+(\.[0-9]+)*)\.? .*/\1/p' "$contract")
mapfile -t gaps < <(sed -nE 's/^\| (G[0-9]+) \|.*/\1/p' "$contract")
declare -A known=()
for h in "${headings[@]}" "${gaps[@]}"; do known[$h]=1; done

missing=0
while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  line=${rest%%:*}
  text=${rest#*:}
  # Section numbers after a § (a range "§4.10–4.12" gives both ends).
  cleaned=$(sed -E 's/(RFC [0-9]+|HTML) §[0-9.]+//g' <<<"$text")
  refs=$(grep -oE '§[0-9]+(\.[0-9]+)*(–[0-9]+(\.[0-9]+)*)?' <<<"$cleaned" |
         sed -e 's/^§//' -e 's/–/\n/' || true)
  if grep -q '§' <<<"$cleaned"; then
    refs+=$'\n'$(grep -oE '\bG[0-9]+\b' <<<"$cleaned" || true)
  fi
  for ref in $refs; do
    ref=${ref%.}
    if [ -z "${known[$ref]:-}" ]; then
      label="§$ref"
      [[ $ref == G* ]] && label=$ref
      echo "$file:$line: cites $label, which is not a heading (or gap) of $contract" >&2
      missing=1
    fi
  done
done < <(git grep -n --untracked '§' -- . ":!$contract" || true; grep -n '§' "$contract" | sed "s|^|$contract:|")
if [ $missing -ne 0 ]; then
  echo "docs: fix the citations above (or add the section to $contract)" >&2
  exit 1
fi

# --- Doxygen: the public headers, warnings are errors (WARN_AS_ERROR in Doxyfile).
out=${RUNTOOLS_DOCS_DIR:-$root/build/docs}
mkdir -p "$out"
RUNTOOLS_DOCS_DIR=$(cd "$out" && pwd)
RUNTOOLS_DOCS_VERSION=$(sed -nE 's/^  VERSION ([0-9.]+)$/\1/p' CMakeLists.txt | head -n1)
export RUNTOOLS_DOCS_DIR RUNTOOLS_DOCS_VERSION
doxygen Doxyfile
echo "docs: $RUNTOOLS_DOCS_DIR/html/index.html (runtools-cpp $RUNTOOLS_DOCS_VERSION, doxygen $(doxygen --version))"
