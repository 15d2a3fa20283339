# Helpers shared by the shell tests; they source it (". tests/lib.sh") after
# setting T, their temporary directory. sh has no local variables: the
# helpers count with w and keep their state in probs, killed_bg and rc.

# A check collects problems with problem(), then report() prints its line:
# "ok - DESC", or "not ok - DESC" with the problems, the command (when the
# script records it in $cmd) and the head of $T/err indented below it.
begin() { probs=; }
problem() {
    probs="$probs$1
"
}
report() {
    if [ -z "$probs" ]; then
        echo "ok - $1"
        return
    fi
    echo "not ok - $1"
    printf '%s' "$probs" | sed 's/^/    /'
    [ -n "${cmd:-}" ] && echo "    command: $cmd (exit $rc)"
    if [ -s "$T/err" ]; then
        echo "    stderr:"
        head -n 5 "$T/err" | sed 's/^/      /'
    fi
    return 0
}

# check STATUS DESC [DETAIL-FILE]: a check of one status: "ok - DESC" when
# it is 0, else "not ok - DESC" and the head of DETAIL-FILE indented below.
check() {
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else
        echo "not ok - $2"; [ -n "${3:-}" ] && sed 's/^/    /' "$3" | head -15; fi
}

# stderr_has REGEX: the last run's stderr ($T/err) matches (extended, any case).
stderr_has() {
    grep -Eqi -e "$1" "$T/err" || problem "expected stderr to match /$1/"
}

# Emulation: under make test CROSS_COMPILE=..., EMU names the emulator
# (qemu-aarch64) every program of the build runs under, 20 to 100 times
# slower than natively (qemu emulates floating point in software, a fused
# multiply-add slowest). A time bound meant for the machine's own speed is
# multiplied by SLOW, 1 natively: timeout $((30 * SLOW)).
SLOW=1
[ -n "${EMU:-}" ] && SLOW=20

# Background runs. A non-interactive sh starts them with SIGINT ignored;
# $DEFSIG before the command restores the default of INT, TERM and HUP, as
# under a terminal: env --default-signal (GNU coreutils), else (BSD env, as
# on macOS) perl, which resets them and execs the command (the same pid).
# (One word for perl's program: $DEFSIG is split at spaces, not parsed.)
DEFSIG=
if env --default-signal=INT,TERM,HUP true 2>/dev/null; then
    DEFSIG="env --default-signal=INT,TERM,HUP"
elif command -v perl >/dev/null 2>&1; then
    DEFSIG='perl -e $SIG{INT}=$SIG{TERM}=$SIG{HUP}="DEFAULT";exec{$ARGV[0]}@ARGV;exit(127)'
fi

# timeout SECONDS CMD...: GNU coreutils' timeout where there is one. Where
# there is none (macOS), the same contract from the shell: CMD runs as the
# caller's child with its descriptors and signal dispositions (a command
# started with & would have SIGINT ignored and standard input /dev/null);
# a watcher, detached, sends SIGTERM to CMD and its children (GNU's to its
# process group) after SECONDS (whole seconds, checked every second), and
# the status is then 124 whatever CMD exits with, as GNU's.
if ! command -v timeout >/dev/null 2>&1; then
    timeout() {
        _to_limit=$1
        shift
        _to_mark=$(mktemp) || return 125
        sh -c 'limit=$1 mark=$2 me=$$
            shift 2
            ( ( n=0
                while [ $n -lt "$limit" ]; do
                    sleep 1
                    kill -0 $me 2>/dev/null || exit 0
                    n=$((n + 1))
                done
                echo 124 >"$mark"
                kill -TERM $me $(pgrep -P $me) ) </dev/null >/dev/null 2>&1 & )
            exec "$@"' timeout "$_to_limit" "$_to_mark" "$@"
        _to_rc=$?
        [ -s "$_to_mark" ] && _to_rc=124
        rm -f "$_to_mark"
        return $_to_rc
    }
fi

# now_ns: a clock in nanoseconds; GNU date's %N, else (BSD date prints a
# literal N) perl's or python3's clock. now_ms: the same in milliseconds.
case $(date +%N 2>/dev/null) in
*[!0-9]* | '')
    if command -v perl >/dev/null 2>&1; then
        now_ns() { perl -MTime::HiRes=time -e 'printf "%.0f\n", time * 1e9'; }
    else
        now_ns() { python3 -c 'import time; print(time.time_ns())'; }
    fi ;;
*) now_ns() { date +%s%N; } ;;
esac
now_ms() { echo $(($(now_ns) / 1000000)); }

# started OUT PID SECONDS: waits until OUT holds a progress line ("iter ...")
# or PID has ended, at most SECONDS; succeeds if the line is there. Empty
# OUT before starting the run: the redirection of a command started with &
# happens in the child, maybe after this first looks, and a previous run's
# lines in OUT would pass for the new run's (fresh_bg).
started() {
    w=0
    while [ $w -lt $(($3 * 20)) ] && ! grep -q '^iter ' "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do
        sleep 0.05
        w=$((w + 1))
    done
    grep -q '^iter ' "$1" 2>/dev/null
}

# fresh_bg FILE...: empties the files a background run is about to write.
fresh_bg() {
    for f in "$@"; do : >"$f"; done
}

# ended PID SECONDS: waits at most SECONDS for PID to end, then kills it; its
# exit status in $rc. Fails if it had to be killed.
ended() {
    w=0
    while [ $w -lt $(($2 * 10)) ] && kill -0 "$1" 2>/dev/null; do
        sleep 0.1
        w=$((w + 1))
    done
    killed_bg=0
    kill -0 "$1" 2>/dev/null && { kill -KILL "$1"; killed_bg=1; }
    wait "$1"
    rc=$?
    [ $killed_bg -eq 0 ]
}

# random_text SEED: 4,000 lines of 50 random lowercase letters and spaces
# (200 KB, no '#', no capitals), the same for the same SEED.
random_text() {
    awk -v seed="$1" 'BEGIN { srand(seed); for (i = 0; i < 4000; i++) { for (j = 0; j < 50; j++)
        printf "%c", (rand() < 0.15 ? " " : sprintf("%c", 97 + int(rand() * 26))); printf "\n" } }'
}

# log_rows CSV: the rows of a --log file without its header, the quoted
# description (the last field, the only one with commas) emptied, so that
# awk -F, sees the documented columns.
log_rows() { tail -n +2 "$1" | sed 's/,"[^"]*"$/,/'; }

# refused DESC STATUS REGEX ARGS...: "$CHARNN $COMMAND ARGS" exits with
# STATUS and one line on stderr that matches REGEX.
refused() {
    desc=$1 want=$2 re=$3
    shift 3
    begin
    "$CHARNN" $COMMAND "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -eq "$want" ] || problem "exit $rc, expected $want"
    [ "$(wc -l <"$T/err")" -eq 1 ] || problem "stderr is not one line"
    stderr_has "$re"
    cmd="charnn $COMMAND $*" report "$desc"
}
