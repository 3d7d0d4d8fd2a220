# shellcheck shell=bash
# Shared by the benchmarks in scripts/bench/: clocks, medians, and the figures that scripts/bench/all
# collects into its table. Source it after setting `src` and `build`.
# shellcheck disable=SC2154 # build: set by the benchmark that sources this file

bench_now() { date +%s.%N; }
# bench_since T0 → seconds since T0 (from bench_now)
bench_since() { awk -v a="$1" -v b="$(bench_now)" 'BEGIN { printf "%.4f", b - a }'; }
# bench_median V… → the median (the mean of the middle two for an even count)
bench_median() {
    printf '%s\n' "$@" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# bench_wall CMD… → the wall-clock seconds CMD took (its output discarded; its exit status ignored)
bench_wall() {
    local t0
    t0=$(bench_now)
    "$@" >/dev/null 2>&1 || true
    bench_since "$t0"
}
# bench_rss_kib CMD… → peak RSS of CMD in KiB (GNU time's %M)
bench_rss_kib() {
    local f
    f=$(mktemp)
    /usr/bin/time -f %M -o "$f" "$@" >/dev/null 2>&1 || true
    tail -n 1 "$f"
    rm -f "$f"
}
# bench_ratio A B → A / B with 2 decimals
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "" }'; }

# bench_figure NAME VALUE UNIT OP TARGET [NOTE]: one figure, its target (OP is <= or >=; "-" for
# none) and whether it is met; printed, and appended to $FL_BENCH_FIGURES (tab-separated) when set.
bench_figure() {
    local met
    met=$(awk -v v="$2" -v op="$4" -v t="$5" 'BEGIN {
        if (v !~ /^-?[0-9.]+$/) print "no number"
        else if (op == "-") print "info"
        else print ((op == "<=" ? v + 0 <= t + 0 : v + 0 >= t + 0) ? "met" : "NOT met") }')
    printf 'figure: %s: %s %s (target %s %s): %s%s\n' "$1" "$2" "$3" "$4" "$5" "$met" "${6:+ ($6)}"
    if [[ -n ${FL_BENCH_FIGURES:-} ]]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$met" "${6:-}" >>"$FL_BENCH_FIGURES"
    fi
}

# The machine and versions, one line (written with every result).
bench_machine() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    printf 'machine: %s, %s cores, kernel %s; fipsluks %s, libcryptsetup %s, OpenSSL %s; load average %s; %s\n' \
        "${cpu:-unknown CPU}" "$(nproc)" "$(uname -r)" "$("$build/src/cli/fipsluks" --version | cut -d' ' -f2)" \
        "$(pkg-config --modversion libcryptsetup 2>/dev/null || cryptsetup --version | cut -d' ' -f2)" \
        "$(openssl version | cut -d' ' -f2)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u '+%F %H:%M UTC')"
}

# bench_run CMD… → "WALL CPU READ_BYTES RCHAR" for one run of CMD (output discarded, exit status
# ignored): wall-clock and CPU (user + system) seconds, bytes it read from storage and bytes its read
# calls returned (/proc/self/io of a parent that has reaped it: a reaped child's I/O counts there).
bench_run() {
    python3 - "$@" <<'PY'
import os, resource, subprocess, sys, time
def io():
    with open("/proc/self/io") as f:
        d = dict(line.split(": ") for line in f.read().splitlines())
    return int(d["read_bytes"]), int(d["rchar"])
b0, c0 = io()
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t1 = time.monotonic()
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
b1, c1 = io()
print("%.6f %.6f %d %d" % (t1 - t0, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, b1 - b0, c1 - c0))
PY
}
