#!/bin/sh
# Benchmark of `uvm fuzz` against the planted bugs of bench/planted/NN-*.patch: each patch is
# applied to one scratch worktree of the commit the patches were written against, rebuilt
# incrementally (in debug, or with --release in release: ten times the scenarios per second,
# at a minute or two of building per patch), and then
#   - fuzzed:   uvm fuzz --audit --seed S --time T --shrink-time 0 --json (found = a BUG, or the
#               campaign died: a trap is a crash the fuzzer's parent sees);
#   - checked:  uvm run --audit over scenarios/examples and uvm check over scenarios/catalog (the
#               project's own fast checks; swift test is too slow per patch).
# A table is printed, and kept with every log under OUT (default /tmp/uvm-planted-out).
#
# Usage: bench/planted/run.sh [--time T] [--seed S] [--only NN[,NN...]] [--no-checks] [--release]
#                             [--catalog-runs N] [--scratch DIR] [--out DIR] [--base COMMIT]
# --catalog-runs is uvm check's --modern-runs (its default, 200, takes over a minute per patch
# in debug).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
time=60
seed=1
only=""
checks=1
configuration=debug
catalog_runs=200
scratch=/tmp/uvm-planted-scratch
out=/tmp/uvm-planted-out
# The kernel measured: the checkout's own commit, unless --base names another (every patch
# must apply to it; a patch that no longer applies is reported, not run).
base=$(git -C "$repo" rev-parse HEAD)
while [ $# -gt 0 ]; do
    case $1 in
        --time) time=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --no-checks) checks=0; shift ;;
        --release) configuration=release; shift ;;
        --catalog-runs) catalog_runs=$2; shift 2 ;;
        --scratch) scratch=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        *) echo "usage: $0 [--time T] [--seed S] [--only NN[,NN...]] [--no-checks] [--release] [--catalog-runs N] [--scratch DIR] [--out DIR] [--base COMMIT]" >&2; exit 64 ;;
    esac
done

if [ ! -e "$scratch/.git" ]; then
    git -C "$repo" worktree add --detach "$scratch" "$base" >/dev/null || exit 1
fi
git -C "$scratch" checkout -q --detach "$base" || exit 1
mkdir -p "$out"
table="$out/table.md"
printf '| patch | fuzz | seconds | kind | examples | catalog |\n|---|---|---|---|---|---|\n' > "$table"

uvm="$scratch/.build/$configuration/uvm"
found=0; missed=0; checked=0; total=0; nothing=0

selected() {
    [ -z "$only" ] && return 0
    for n in $(echo "$only" | tr ',' ' '); do [ "$n" = "$1" ] && return 0; done
    return 1
}

for patch in "$here"/[0-9][0-9]-*.patch; do
    name=$(basename "$patch" .patch)
    selected "${name%%-*}" || continue
    log="$out/$name"
    rm -rf "$log"; mkdir -p "$log"
    git -C "$scratch" checkout -q -- . && git -C "$scratch" clean -qfd Sources
    if ! git -C "$scratch" apply "$patch"; then
        printf '| %s | does not apply | | | | |\n' "$name" | tee -a "$table"; continue
    fi
    if ! (cd "$scratch" && nice swift build -c "$configuration" --product uvm > "$log/build.log" 2>&1); then
        printf '| %s | does not build | | | | |\n' "$name" | tee -a "$table"; continue
    fi
    total=$((total + 1))

    # The fuzzer stops at its first BUG; with no shrinking, its seconds are the time to find it.
    (cd "$scratch" && nice timeout $((time + 120)) "$uvm" fuzz --audit --seed "$seed" --time "$time" \
        --shrink-time 0 --out "$log/fuzz" --json > "$log/fuzz.json" 2> "$log/fuzz.err")
    rc=$?
    fuzz=missed; secs=""; kind=""
    if [ $rc -eq 2 ]; then
        fuzz=found
        secs=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' "$log/fuzz.json" | cut -c1-5)
        kind=$(sed -n 's/.*"findings":\[{"kind":"\([^"]*\)".*/\1/p' "$log/fuzz.json")
    elif [ $rc -eq 124 ]; then
        fuzz=found; kind="hang (timed out)"
    elif [ $rc -gt 124 ]; then
        fuzz=found; kind="crash (exit $rc)"
    elif [ $rc -ne 0 ]; then
        fuzz="error (exit $rc)"
    fi

    examples=-; catalog=-
    if [ $checks -eq 1 ]; then
        failing=0
        for f in $(cd "$scratch" && find scenarios/examples -name '*.uvm' | sort); do
            if ! (cd "$scratch" && nice timeout 120 "$uvm" run --audit "$f" > "$log/run.$(basename "$f").log" 2>&1); then
                failing=$((failing + 1)); echo "$f" >> "$log/examples-failing"
            fi
        done
        examples=$([ $failing -gt 0 ] && echo "caught ($failing)" || echo missed)
        if (cd "$scratch" && nice timeout 600 "$uvm" check --modern-runs "$catalog_runs" scenarios/catalog > "$log/catalog.log" 2>&1); then
            catalog=missed
        else
            catalog=caught
        fi
    fi

    [ "$fuzz" = found ] && found=$((found + 1)) || missed=$((missed + 1))
    if [ "$examples" != missed ] && [ "$examples" != - ] || [ "$catalog" = caught ]; then checked=$((checked + 1)); fi
    if [ "$fuzz" != found ] && { [ "$examples" = missed ] && [ "$catalog" = missed ]; }; then nothing=$((nothing + 1)); fi
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$fuzz" "$secs" "$kind" "$examples" "$catalog" | tee -a "$table"
done
git -C "$scratch" checkout -q -- .

summary="$total patches: fuzz found $found, missed $missed (--time $time, --seed $seed)"
[ $checks -eq 1 ] && summary="$summary; examples/catalog caught $checked; found by nothing $nothing"
echo "$summary" | tee -a "$table"
echo "table and logs: $out"
