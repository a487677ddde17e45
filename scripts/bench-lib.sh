# bench-lib.sh — helpers the parts of `make bench` share; sourced by
# scripts/bench-snapshots.sh, scripts/bench-report.sh and
# scripts/bench-embed.sh, each of which sets TMP (a scratch directory) first.

# timed CMD...: runs CMD (its stdout discarded) and prints "WALL CPU", the
# whole process's wall and CPU (user + system) seconds; on a shared machine
# the CPU time is the steadier figure.  Without /usr/bin/time the CPU time
# is "nan".
timed() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "%e %U %S" -o "$TMP/t" "$@" >/dev/null
        awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$TMP/t"
    else
        local t0 t1
        t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
        echo "$(( (t1 - t0) / 1000000 ))e-3 nan"
    fi
}

# median X...: the middle value (the lower of the two middle ones for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# spread X...: "min A, max B" of the values.
spread() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "min %s, max %s", v[1], v[NR] }'; }

# machine: "N cores, CPU model (vector features), load average A B C".
machine() {
    local cpu flags
    cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
    flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f' | tr '\n' ' ')
    echo "$(nproc) cores, $cpu (${flags% }), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
