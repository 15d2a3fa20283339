#!/bin/sh
# charnn score end to end: one row per prediction, their mean -ln p equal to
# charnn eval's number, TSV and JSON lines whose escaped characters give the
# text back, each row numbered by its character's own index (viz's #cN),
# the top guesses, the summary on stderr with each surprise's index and
# context, and bad input. Run from the repository root.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check, refused

# a text with every character that needs escaping, Persian and an emoji
python3 - "$T/text.txt" <<'EOF'
import sys
line = 'He said "go\\stop"\tthen\r left.  \x01 \x7f \u0633\u0644\u0627\u0645 \u062f\u0646\u06cc\u0627 \U0001F600 (a [b] {c})\n'
open(sys.argv[1], 'w', encoding='utf-8', newline='').write(line * 30)
EOF
"$CHARNN" train "$T/text.txt" --model gru --hidden 16 --layers 2 --iters 30 --batch 2 \
    --seq-length 16 --val-frac 0 --quiet --checkpoint "$T/m.ckpt" >"$T/out" 2>"$T/err"
check $? "set-up: a small model of the text" "$T/err"

"$CHARNN" score "$T/m.ckpt" "$T/text.txt" --seq-length 7 >"$T/rows.tsv" 2>"$T/err"
check $? "score writes TSV rows" "$T/err"
"$CHARNN" eval "$T/m.ckpt" "$T/text.txt" >"$T/eval" 2>>"$T/err"
check $? "set-up: eval" "$T/err"
"$CHARNN" score "$T/m.ckpt" "$T/text.txt" --format jsonl --top 4 --threads 2 \
    >"$T/rows.jsonl" 2>"$T/summary"
check $? "score writes JSON lines" "$T/summary"

python3 - "$T" <<'EOF' >"$T/report" 2>&1
import json, math, sys
d = sys.argv[1]
text = open(d + '/text.txt', encoding='utf-8', newline='').read()
problems = []
def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '\\':
            c = s[i + 1]
            if c == 'x':
                out.append(chr(int(s[i + 2:i + 4], 16))); i += 4; continue
            out.append({'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}[c]); i += 2; continue
        out.append(s[i]); i += 1
    return ''.join(out)
lines = open(d + '/rows.tsv', encoding='utf-8', newline='').read().split('\n')
if lines[0] != 'index\tchar\tp\tbits' or lines[-1] != '':
    problems.append('TSV header or final newline wrong: %r' % lines[0])
rows = [l.split('\t') for l in lines[1:-1]]
if len(rows) != len(text) - 1:
    problems.append('%d TSV rows for %d characters' % (len(rows), len(text)))
if any(len(r) != 4 for r in rows):
    problems.append('a TSV row without 4 fields')
if ''.join(unescape(r[1]) for r in rows) != text[1:]:
    problems.append('the TSV characters unescaped are not the text after its first character')
if [int(r[0]) for r in rows] != list(range(1, len(text))):
    problems.append('index is not 1, 2, 3, ... (the character predicted)')
if any(unescape(r[1]) != text[int(r[0])] for r in rows):
    problems.append('a row\'s character is not the text\'s character at its index')
for r in rows:
    p, bits = float(r[2]), float(r[3])
    if not (0 < p <= 1) or abs(bits + math.log2(p)) > 1e-6 * max(1, bits):
        problems.append('row %s: p %s and bits %s disagree' % (r[0], r[2], r[3])); break
mean = sum(-math.log(float(r[2])) for r in rows) / len(rows)
evaluated = float(open(d + '/eval').read().split()[0])
if abs(mean - evaluated) > 2e-6:
    problems.append('mean -ln p of the rows %.7f, eval %.6f' % (mean, evaluated))
objs = [json.loads(l) for l in open(d + '/rows.jsonl', encoding='utf-8')]
if ''.join(o['char'] for o in objs) != text[1:]:
    problems.append('the JSON characters are not the text after its first character')
for o, r in zip(objs, rows):
    top = o['top']
    if o['index'] != int(r[0]) or abs(o['p'] - float(r[2])) > 1e-12 or len(top) != 4:
        problems.append('JSON row %d differs from the TSV row, or has %d guesses' % (o['index'], len(top))); break
    if any(top[k][1] < top[k + 1][1] for k in range(3)):
        problems.append('JSON row %d: guesses not most likely first' % o['index']); break
    hit = [t for t in top if t[0] == o['char']]
    if hit and abs(hit[0][1] - o['p']) > 1e-5 or not hit and o['p'] > top[-1][1] + 1e-6:
        problems.append('JSON row %d: p %g against its guesses %r' % (o['index'], o['p'], top)); break
summary = open(d + '/summary', encoding='utf-8').read().split('\n')
if ('%.6f nats/char' % evaluated) not in summary[0] or not summary[0].endswith('most surprising:'):
    problems.append('the summary does not give eval\'s number: %r' % summary[0])
# "  19.0 bits at character 65917 ("\n"): "...[\n]..."": the index of the
# character, as the rows number it, and 12 characters before it, 8 after
import re
surprises = [re.fullmatch(r'  ([ 0-9.]+) bits at character (\d+) \((".*?")\): (".*")', l)
             for l in summary[1:-1]]
bits = {int(r[0]): float(r[3]) for r in rows}
if len(surprises) != 5 or not all(surprises) or summary[-1] != '':
    problems.append('not five surprises, one a line: %r' % summary[1:])
else:
    for m in surprises:
        j, c, context = int(m.group(2)), json.loads(m.group(3)), json.loads(m.group(4))
        want = text[max(0, j - 12):j] + '[' + text[j] + ']' + text[j + 1:j + 9]
        if c != text[j] or context != want or abs(float(m.group(1)) - bits[j]) > 0.051:
            problems.append('surprise at %d: %r in %r, %s bits; the text has %r in %r, row %g bits'
                            % (j, c, context, m.group(1), text[j], want, bits[j]))
    if sorted((bits[int(m.group(2))] for m in surprises), reverse=True) != sorted(bits.values(), reverse=True)[:5]:
        problems.append('the surprises are not the five rows of the most bits')
print('\n'.join(problems) if problems else 'agree: %d rows, mean %.7f, eval %.6f' % (len(rows), mean, evaluated))
sys.exit(1 if problems else 0)
EOF
check $? "rows: one per prediction, numbered by the index of the character predicted, characters round-trip (TSV and JSON), mean -ln p = eval, top guesses in order; the summary names each surprise's index and shows its context" "$T/report"

# the same rows whatever the chunk length and threads
"$CHARNN" score "$T/m.ckpt" "$T/text.txt" --seq-length 1000 --threads 1 >"$T/rows2.tsv" 2>"$T/err"
cmp -s "$T/rows.tsv" "$T/rows2.tsv"
check $? "rows are the same for any --seq-length and --threads" "$T/err"

# bad input: one line, a non-zero exit
COMMAND=score
printf 'Zebra' >"$T/other.txt"
printf 'H' >"$T/one.txt"
refused "a character the model has not seen" 1 "not in the (model's )?vocabulary|vocabulary" "$T/m.ckpt" "$T/other.txt"
refused "a one-character file" 1 "at least 2" "$T/m.ckpt" "$T/one.txt"
refused "an unknown format" 2 "format" "$T/m.ckpt" "$T/text.txt" --format csv
refused "--top 0" 2 "top" "$T/m.ckpt" "$T/text.txt" --top 0
refused "a missing file" 1 "nope.txt" "$T/m.ckpt" "$T/nope.txt"
refused "not a checkpoint" 1 "text.txt" "$T/text.txt" "$T/text.txt"
"$CHARNN" score "$T/m.ckpt" "$T/text.txt" >/dev/full 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot write" "$T/err"
check $? "rows that cannot be written: exit 1 with a message (exit $rc)" "$T/err"
