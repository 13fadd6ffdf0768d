# shellcheck disable=SC2154  # root, bin, tmp, cache, measure, IMAGE... are set by scripts/bench
# scripts/bench: turning raw samples into tables (sourced).
# Only sort and POSIX awk (Debian's default awk is mawk: no asort).

# median of the numbers on stdin (one a line)
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# runs_table RAW BASE: one row per launcher of `measure runs` output
# (NAME ROUND WALL_US CPU_US STATUS), times in ms; the ratio is the median
# over rounds of WALL(launcher) / WALL(BASE) in the same round, the cpu
# ratio the same for user+sys (steadier than wall on a busy machine).
runs_table() {
    local raw=$1 base=$2 name n failed med lo hi cpu ratio cpu_ratio
    printf '%-22s %5s %9s %17s %8s %9s %9s\n' launcher n "median ms" "min-max ms" "cpu ms" "vs $base" "cpu vs"
    # shellcheck disable=SC2013 # launcher names are single words
    for name in $(awk '!seen[$1]++ { print $1 }' "$raw"); do
        n=$(awk -v n="$name" '$1 == n' "$raw" | wc -l)
        failed=$(awk -v n="$name" '$1 == n && $5 != 0' "$raw" | wc -l)
        med=$(awk -v n="$name" '$1 == n { print $3 / 1000 }' "$raw" | median)
        lo=$(awk -v n="$name" '$1 == n { print $3 / 1000 }' "$raw" | sort -g | head -1)
        hi=$(awk -v n="$name" '$1 == n { print $3 / 1000 }' "$raw" | sort -g | tail -1)
        cpu=$(awk -v n="$name" '$1 == n { print $4 / 1000 }' "$raw" | median)
        ratio=$(awk -v n="$name" -v b="$base" '
            $1 == b { base[$2] = $3 }
            $1 == n { wall[$2] = $3 }
            END { for (r in wall) if (base[r] > 0) print wall[r] / base[r] }' "$raw" | median)
        cpu_ratio=$(awk -v n="$name" -v b="$base" '
            $1 == b { base[$2] = $4 }
            $1 == n { cpu[$2] = $4 }
            END { for (r in cpu) if (base[r] > 0) print cpu[r] / base[r] }' "$raw" | median)
        printf '%-22s %5d %9.2f %8.2f-%-8.2f %8.2f %9s %9s\n' "$name" "$n" "$med" "$lo" "$hi" "$cpu" \
            "$([[ $ratio == - ]] && echo - || printf '%.2fx' "$ratio")" \
            "$([[ $cpu_ratio == - ]] && echo - || printf '%.2fx' "$cpu_ratio")"
        if ((failed)); then
            printf '  ^ %d of %d runs exited non-zero: their times are not a valid launch\n' "$failed" "$n"
        fi
    done
}

# batch_table RAW BASE: `measure batch` output (NAME ROUND MODE WALL_US FAILED).
batch_table() {
    local raw=$1 base=$2 n=$3 name seq conc fails ratio
    printf '%-22s %14s %14s %12s %9s\n' launcher "${n} seq ms" "${n} conc ms" "launch/s" "conc vs $base"
    # shellcheck disable=SC2013 # launcher names are single words
    for name in $(awk '!seen[$1]++ { print $1 }' "$raw"); do
        seq=$(awk -v n="$name" '$1 == n && $3 == "seq" { print $4 / 1000 }' "$raw" | median)
        conc=$(awk -v n="$name" '$1 == n && $3 == "conc" { print $4 / 1000 }' "$raw" | median)
        fails=$(awk -v n="$name" '$1 == n { f += $5 } END { print f + 0 }' "$raw")
        ratio=$(awk -v n="$name" -v b="$base" '
            $3 == "conc" && $1 == b { base[$2] = $4 }
            $3 == "conc" && $1 == n { wall[$2] = $4 }
            END { for (r in wall) if (base[r] > 0) print wall[r] / base[r] }' "$raw" | median)
        printf '%-22s %14.1f %14.1f %12.0f %9s\n' "$name" "$seq" "$conc" "$(awk -v c="$conc" -v n="$n" 'BEGIN { print n / (c / 1000) }')" \
            "$([[ $ratio == - ]] && echo - || printf '%.2fx' "$ratio")"
        if ((fails)); then
            printf '  ^ %d launches exited non-zero\n' "$fails"
        fi
    done
}

# trace_table FILE NAME: FILE holds traced launches, each from "stamp:
# start" to "stamp: exit" with the ISOKIT_TRACE=time lines between (lines
# of launchers other than NAME are told apart by their first tool: the
# caller writes one file per chain). Prints the median time from each line
# to the next, named after the later line's tool: the exec of that tool
# plus its step.
trace_table() {
    awk '
        / stamp: start/ { prev = "" }
        /^\[[0-9]+\] / {
            t = substr($1, 2, length($1) - 2) + 0
            tool = $2; sub(/:$/, "", tool)
            label = (tool == "stamp") ? "stamp " $3 : tool
            if (prev != "") print label, (t - prev) / 1000
            else print "launch", 0
            prev = t
            if (!(label in order)) { order[label] = ++k; names[k] = label }
        }
        END { for (i = 1; i <= k; i++) print "#order", i, names[i] > "/dev/stderr" }
    ' "$1" 2>"$tmp/trace-order" >"$tmp/trace-steps"
    local label med
    printf '%-28s %10s\n' "step (time since previous line)" "median ms"
    while read -r _ _ label; do
        [[ $label == launch ]] && continue
        med=$(awk -v l="$label" '{ name = $1; if ($1 == "stamp") name = $1 " " $2; if (name == l) print $NF }' "$tmp/trace-steps" | median)
        [[ $med == - ]] && continue
        printf '%-28s %10.3f\n' "$label" "$med"
    done <"$tmp/trace-order"
}

# error_summary FILE: the distinct lines launchers printed on stderr (a
# launcher's stderr is the benchmark's), most frequent first, so a failed
# run says why.
error_summary() {
    [[ -s $1 ]] || return 0
    echo "stderr of the launches (distinct lines, most frequent first):"
    sort "$1" | uniq -c | sort -rn | head -8 | sed 's/^/  /'
}
