#!/bin/sh
# What a user sees: the --log CSV (documented columns, one row per print
# interval and evaluation), charnn plot (a well-formed SVG with one point
# per log row), plain output without control characters when stdout is not
# a terminal, the status line and colours on a terminal (and none with
# NO_COLOR), --quiet, the final summary and the best checkpoint, several
# files and standard input, streaming samples, gradcheck, help and the man
# page. Run from the repository root.
CHARNN=${CHARNN:-./charnn}
XMLCHECK=${BUILD:-build}/xmlcheck
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'the rain in spain falls mainly on the plain\n%.0s' $(seq 1 40) > "$dir/a.txt"
printf 'how now brown cow\n%.0s' $(seq 1 40) > "$dir/b.txt"
small="--model lstm --hidden 12 --layers 1 --batch 2 --seq-length 8 --sample-every 0 --lr 0.002"
small="$small --lr-schedule constant --warmup 0" # one line: on_tty below runs it in a shell

. "$(dirname "$0")/lib.sh" # check, log_rows, $DEFSIG

# --- the log and the plot
"$CHARNN" train "$dir/a.txt" $small --iters 40 --print-every 5 --eval-every 10 \
    --log "$dir/run.csv" --checkpoint "$dir/m.ckpt" >"$dir/out" 2>"$dir/err"
check $? "train --log runs" "$dir/err"
head -1 "$dir/run.csv" | grep -qx 'run,iteration,epoch,loss,smooth_loss,val_loss,lr,grad_norm,chars_per_s,seconds,description'
check $? "the log's first line is the header of the documented columns" "$dir/run.csv"
log_rows "$dir/run.csv" > "$dir/rows"
[ "$(wc -l < "$dir/rows")" -eq 9 ]   # iterations 1, 5, 10, ..., 40
check $? "one row per print interval (every 5 of 40, and the first): $(wc -l < "$dir/rows") rows" "$dir/run.csv"
evals=$(awk -F, '$6 != ""' "$dir/rows" | wc -l)
[ "$evals" -eq 4 ] && awk -F, '$6 != "" && $2 % 10 { bad = 1 } END { exit bad }' "$dir/rows"
check $? "val_loss is filled exactly on the 4 evaluation rows" "$dir/run.csv"
awk -F, 'NF != 11 || $4 + 0 <= 0 || $7 != 0.002 || $10 < prev || $1 != run0 && NR > 1 { bad = 1 }
         NR == 1 { run0 = $1 } { prev = $10 } END { exit bad }' "$dir/rows"
check $? "every row has 11 fields, the run, a positive loss, the learning rate, growing seconds" "$dir/run.csv"
sed -n 2p "$dir/run.csv" | grep -q ',"charnn .* train .*a.txt: lstm, 1 layer x 12 hidden, .*"$' &&
    [ "$(grep -c ',"charnn' "$dir/run.csv")" -eq 1 ]
check $? "the first row, alone, describes the run (a quoted field)" "$dir/run.csv"
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 9 and all(len(r) == 11 and None not in r for r in rows), rows
assert rows[0]["description"].startswith("charnn ") and float(rows[-1]["iteration"]) == 40' \
        "$dir/run.csv" 2>"$dir/err"
    check $? "Python's csv.DictReader reads the log with no options" "$dir/err"
fi

"$CHARNN" train "$dir/a.txt" $small --resume "$dir/m.ckpt" --iters 50 --print-every 5 \
    --eval-every 10 --log "$dir/run.csv" --checkpoint "$dir/m.ckpt" >/dev/null 2>&1
log_rows "$dir/run.csv" > "$dir/rows"
[ "$(wc -l < "$dir/rows")" -eq 12 ] && [ "$(cut -d, -f1 "$dir/rows" | sort -u | wc -l)" -eq 1 ] &&
    grep -q '; resumed at iteration 40"$' "$dir/run.csv"
check $? "a resumed run appends to the log, the same run, its first row says so (12 rows)" "$dir/run.csv"

"$CHARNN" plot "$dir/run.csv" -o "$dir/loss.svg" >"$dir/out" 2>"$dir/err"
check $? "plot writes an SVG" "$dir/err"
"$XMLCHECK" "$dir/loss.svg" >"$dir/xml"
check $? "the SVG is well-formed XML" "$dir/xml"
grep -qx "points train 12" "$dir/xml" && grep -qx "points train-raw 12" "$dir/xml" && grep -qx "points validation 5" "$dir/xml"
check $? "the training curves have one point per log row (12), validation one per evaluation (5)" "$dir/xml"
grep -q '<text[^>]*>iteration</text>' "$dir/loss.svg" && grep -q '>epoch</text>' "$dir/loss.svg" &&
    grep -q 'loss (nats per character)' "$dir/loss.svg" && grep -q 'validation loss</text>' "$dir/loss.svg" &&
    grep -q 'lstm, 1 layer x 12 hidden' "$dir/loss.svg"
check $? "the SVG has axis labels, a legend and the configuration as title" "$dir/loss.svg"
"$CHARNN" plot "$dir/run.csv" >/dev/null 2>&1 && [ -s "$dir/run.svg" ]
check $? "plot without -o writes the log's name with .svg"
printf 'not,a,log\n1,2,3\n' > "$dir/bad.csv"
"$CHARNN" plot "$dir/bad.csv" -o "$dir/bad.svg" >/dev/null 2>"$dir/err"
[ $? -eq 1 ] && grep -q "no 'iteration' column" "$dir/err"
check $? "plot refuses a file that is not a training log" "$dir/err"

# --- plain output, summary, best checkpoint
"$CHARNN" train "$dir/a.txt" $small --iters 30 --print-every 10 --eval-every 10 --sample-every 10 \
    --checkpoint "$dir/p.ckpt" >"$dir/plain" 2>&1
LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$dir/plain"
check $((! $?)) "output to a file has no control characters (no colour, no redraw)" "$dir/plain"
grep -q '^---- sample at iteration 10 (temperature 0.8) ----$' "$dir/plain" && grep -q '^---- end of sample ----$' "$dir/plain"
check $? "samples in the log are framed" "$dir/plain"
grep -q "^best validation loss .* at iteration [0-9]*, in $dir/p.best.ckpt; the last checkpoint (iteration 30) is $dir/p.ckpt$" "$dir/plain" &&
    grep -q "^sample from it with: .* sample $dir/p.best.ckpt$" "$dir/plain" && [ -s "$dir/p.best.ckpt" ]
check $? "the summary names the best checkpoint, which exists, and how to sample from it" "$dir/plain"
"$CHARNN" train "$dir/a.txt" $small --iters 3 --checkpoint "$dir/it's mine.ckpt" >"$dir/quoted" 2>&1
grep -q "^sample from it with: .* sample '$dir/it'\\\\''s mine.best.ckpt'\$" "$dir/quoted" &&
    sh -c "\"$CHARNN\" $(sed -n 's/^sample from it with: [^ ]* //p' "$dir/quoted") --length 5" >/dev/null
check $? "how to sample is one command for the shell, the checkpoint's name quoted" "$dir/quoted"
"$CHARNN" info "$dir/p.best.ckpt" | grep -q "^best: .* this checkpoint"
check $? "info on the best checkpoint says it is the best"

"$CHARNN" train "$dir/a.txt" $small --iters 20 --eval-every 10 --quiet --checkpoint "$dir/q.ckpt" >"$dir/quiet" 2>&1
[ $? -eq 0 ] && [ "$(wc -l < "$dir/quiet")" -eq 3 ] && head -1 "$dir/quiet" | grep -q '^done: 20 iterations'
check $? "--quiet prints only the three-line summary" "$dir/quiet"

# --- a terminal: redraw, progress bar, colour; NO_COLOR
# on_tty COMMAND: the shell command on a pseudo-terminal, with script(1):
# util-linux's takes it with -c, BSD's (macOS) after the file
case $(script -V 2>/dev/null) in
*util-linux*) on_tty() { script -qc "$1" /dev/null; } ;;
*) on_tty() { script -q /dev/null sh -c "$1"; } ;;
esac
if command -v script >/dev/null 2>&1; then
    on_tty "TERM=xterm $CHARNN train $dir/a.txt $small --iters 30 --eval-every 10 --checkpoint $dir/t.ckpt" > "$dir/tty" 2>&1
    grep -q "$(printf '\r')" "$dir/tty" && grep -q '####################.*100%' "$dir/tty" &&
        grep -q "$(printf '\033\\[32m')eval at iteration" "$dir/tty"
    check $? "on a terminal: a redrawn status line with a progress bar, colour" "$dir/tty"
    on_tty "TERM=xterm NO_COLOR=1 $CHARNN train $dir/a.txt $small --iters 30 --eval-every 10 --checkpoint $dir/t2.ckpt" > "$dir/tty" 2>&1
    ! grep -q "$(printf '\033\\[[0-9;]*m')" "$dir/tty" && grep -q '\[####################\]' "$dir/tty"
    check $? "with NO_COLOR: the status line, without colour" "$dir/tty"
else
    echo "ok - terminal output: script(1) is not installed # skipped"
fi

# --- several files, standard input
"$CHARNN" train "$dir/a.txt" "$dir/b.txt" $small --iters 2 --val-frac 0 --checkpoint "$dir/ab.ckpt" >"$dir/out" 2>&1
grep -q "data: $dir/a.txt and 1 more file, 2,480 characters" "$dir/out"
check $? "several files train as one corpus (1,760 + 720 characters)" "$dir/out"
cat "$dir/a.txt" "$dir/b.txt" | "$CHARNN" train - $small --iters 2 --val-frac 0 --checkpoint "$dir/in.ckpt" >"$dir/out" 2>&1
grep -q "data: standard input, 2,480 characters" "$dir/out" &&
    "$CHARNN" export "$dir/in.ckpt" >"$dir/in.json" && "$CHARNN" export "$dir/ab.ckpt" >"$dir/ab.json" &&
    cmp -s "$dir/in.json" "$dir/ab.json"
check $? "standard input (-) trains the same model as the files it joins" "$dir/out"

# --- sampling streams, and runs until interrupted with --length 0
$DEFSIG "$CHARNN" sample "$dir/m.ckpt" --length 0 > "$dir/stream" 2>&1 &
pid=$!
sleep 0.4
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && [ "$(wc -c < "$dir/stream")" -gt 1000 ]
check $? "sample --length 0 streams until Ctrl-C, then exits 130 (got $rc, $(wc -c < "$dir/stream") bytes)"

# --- gradcheck, help, man page
"$CHARNN" gradcheck --model gru --dropout 0.2 >"$dir/gc" 2>&1
[ $? -eq 0 ] && grep -q '^l1.Wh ' "$dir/gc" && grep -q '^all within' "$dir/gc"
check $? "charnn gradcheck checks every tensor and passes" "$dir/gc"
"$CHARNN" gradcheck --hidden 0 >/dev/null 2>&1
check $(( $? != 2 )) "gradcheck refuses bad flags with exit 2"
# bench: chars/s, GFLOP/s, a breakdown of the step that adds up to 100%, sampling
"$CHARNN" bench --model lstm --hidden 32 --layers 2 --batch 4 --seq-length 8 --iters 5 \
    --sample 500 --threads 1 >"$dir/bench" 2>&1
[ $? -eq 0 ] && grep -Eq '^training: 5 iterations .* chars/s, .* GFLOP/s' "$dir/bench" &&
    grep -Eq '^sampling: 500 characters, [0-9,]+ chars/s' "$dir/bench" &&
    awk '/^  [a-z].*%/ { sub(/%/, "", $(NF-2)); s += $(NF-2); n++; if ($1 == "recurrent") r = $(NF-2) }
         END { exit !(n == 6 && s > 99.4 && s < 100.6 && r > 0) }' "$dir/bench"
check $? "charnn bench times training and sampling, and its breakdown adds up" "$dir/bench"
"$CHARNN" bench --vocab 1 >/dev/null 2>&1
check $(( $? != 2 )) "bench refuses bad flags with exit 2"
"$CHARNN" help plot | grep -q '^usage: .* plot LOG.csv' && "$CHARNN" help gradcheck | grep -q -- '--model KIND'
check $? "charnn help COMMAND"
"$CHARNN" help --man > "$dir/charnn.1" && head -1 "$dir/charnn.1" | grep -q '^\.TH CHARNN 1' &&
    grep -q '^\.SS "train \[FILE...\] \[options\]"' "$dir/charnn.1" && grep -q '^\.B \\-\\-clip\\-norm N' "$dir/charnn.1"
check $? "charnn help --man writes the manual page from the option tables" "$dir/charnn.1"

# --- a time budget, a cosine schedule that follows it, and patience
"$CHARNN" train "$dir/a.txt" $small --time-budget 2s --lr-schedule cosine --lr-min 0.0001 \
    --eval-every 200 --print-every 50 --log "$dir/budget.csv" --checkpoint "$dir/tb.ckpt" >"$dir/out" 2>&1
rc=$?
last=$(tail -1 "$dir/budget.csv")
secs=$(echo "$last" | cut -d, -f10) lr=$(echo "$last" | cut -d, -f7)
[ $rc -eq 0 ] && grep -q 'for 0:02 of training; lr schedule cosine' "$dir/out" &&
    awk -v s="$secs" -v lr="$lr" 'BEGIN { exit !(s >= 1.5 && s <= 2.2 && lr < 0.0002) }' &&
    [ -s "$dir/tb.best.ckpt" ]
check $? "--time-budget 2s runs for 2 s, final validation included; the cosine schedule ends near --lr-min (${secs}s, lr $lr), best kept" "$dir/out"
awk 'BEGIN { srand(3); for (i = 0; i < 300; i++) printf "%c", 97 + int(rand() * 8); print "" }' > "$dir/noise.txt"
for i in $(seq 1 45); do echo "abcabcabcabcabcabcabcabcabcabcabcabcabcabch"; done > "$dir/pn.txt"
cat "$dir/noise.txt" >> "$dir/pn.txt"   # the validation tail is noise: it stops improving
"$CHARNN" train "$dir/pn.txt" $small --val-frac 0.12 --lr 0.02 --iters 2000 --eval-every 10 --patience 3 \
    --print-every 1000 --checkpoint "$dir/pat.ckpt" >"$dir/out" 2>&1
rc=$?
it=$("$CHARNN" info "$dir/pat.ckpt" | sed -n 's/^trained: *\([0-9,]*\) iterations.*/\1/p' | tr -d ,)
[ $rc -eq 0 ] && grep -q '^no better validation loss in 3 evaluations (since iteration [0-9,]*): stopping early$' "$dir/out" &&
    [ "$it" -lt 2000 ]
check $? "--patience 3 stops early when validation stops improving (at iteration $it of 2000)" "$dir/out"
