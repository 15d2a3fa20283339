#!/bin/sh
# The Persian guide for the course's students (src/doc/fa/guide.md, issue
# 26): README links it in its first 20 lines; it is laid out to read right
# to left on GitHub (the page in <div dir="rtl">, each command in <div
# dir="ltr">, blank lines around them so that the Markdown inside is
# read) and its links lead somewhere; rendered as GitHub does (cmark-gfm)
# in chromium, its text runs right to left and its commands left to right.
# Its output is real: each command it shows, run on data/persian-sample.txt,
# prints what the guide shows (the trace exactly; train, eval, score and
# viz with their speed and timings masked and numbers within 1%, which a
# build for another instruction set may move; sample exactly). Natively
# only: under an emulator training takes minutes.
# Run from the repository root.
CHARNN=${CHARNN:-./charnn}
GUIDE=src/doc/fa/guide.md
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check, begin, problem, report

head -n 20 README.md | grep -q '](src/doc/fa/guide.md)' && [ -s "$GUIDE" ]
check $? "README links the Persian guide in its first 20 lines"

python3 - "$GUIDE" <<'EOF' >"$T/report" 2>&1
import os, re, sys
path = sys.argv[1]
lines = open(path, encoding='utf-8').read().split('\n')
bad = []
body = [l for l in lines if l.strip()]
if body[0] != '<div dir="rtl">' or lines[1] != '' or body[-1] != '</div>':
    bad.append('the page is not wrapped in <div dir="rtl"> ... </div> with a blank line after it')
fence, blocks = None, 0
for i, l in enumerate(lines):
    if l.startswith('```'):
        if fence is None:
            fence = i
        else:
            first = lines[fence + 1] if fence + 1 < i else ''
            if re.match(r'[ -~]', first):   # a command or its output, left to right
                blocks += 1
                if lines[fence - 2:fence] != ['<div dir="ltr">', ''] or lines[i + 1:i + 3] != ['', '</div>']:
                    bad.append('line %d: a block of commands not in <div dir="ltr">, blank lines around' % (fence + 1))
            fence = None
for l in lines:
    if l.startswith('<') and l not in ('<div dir="rtl">', '<div dir="ltr">', '</div>'):
        bad.append('unexpected HTML: %r' % l)
for target in re.findall(r'\]\(([^)#]+)(?:#[^)]*)?\)', '\n'.join(lines)):
    if not os.path.exists(os.path.join(os.path.dirname(path), target)):
        bad.append('a link to %s, which is not there' % target)
print('\n'.join(bad) or '%d command blocks left to right, the rest right to left' % blocks)
sys.exit(1 if bad else 0)
EOF
check $? "the guide is laid out right to left, its commands left to right ($(tail -1 "$T/report"))" "$T/report"

# the guide's commands, run where it runs them: a folder with charnn and
# data/persian-sample.txt. Not emulated: training takes minutes under qemu,
# and charnn there names itself by its full path
if [ -n "${EMU:-}" ]; then
    echo "ok - each command of the guide prints what it shows # skipped under $EMU: too slow emulated; the native make test runs it"
else
mkdir "$T/run" "$T/run/data"
cp data/persian-sample.txt "$T/run/data/"
case "$CHARNN" in
/*) bin=$CHARNN ;;
*) bin=$(pwd)/$CHARNN ;;
esac
ln -s "$bin" "$T/run/charnn" # as the guide runs it, ./charnn
python3 - "$GUIDE" "$T/run" <<'EOF' >"$T/report" 2>&1
import re, subprocess, sys
guide, run = sys.argv[1:3]
lines = open(guide, encoding='utf-8').read().split('\n')
blocks, fence = [], None
for i, l in enumerate(lines):
    if l.startswith('```'):
        if fence is None:
            fence = i
        else:
            blocks.append(lines[fence + 1:i])
            fence = None
# a command block shows its output below it, or in the next block (sample's,
# right to left)
steps = []
for k, b in enumerate(blocks):
    if b and b[0].startswith('./charnn ') and not b[0].startswith('./charnn --version'):
        shown = b[1:]
        if not shown and k + 1 < len(blocks) and not blocks[k + 1][0].startswith('./charnn'):
            shown = blocks[k + 1]
        steps.append((b[0], shown))
NUM = re.compile(r'-?\d[\d,]*\.?\d*(?:e-?\d+)?')
def mask(line):
    line = re.sub(r'[\d,]+ chars/s', 'S chars/s', line)
    line = re.sub(r'\d+:\d\d elapsed', 'M:SS elapsed', line)
    line = re.sub(r'ETA \d+:\d\d', 'ETA M:SS', line)
    line = re.sub(r' in \d+:\d\d;', ' in M:SS;', line)
    line = re.sub(r'kernels .*', 'kernels ...', line)
    return line
def same(want, got, exact):
    if exact:
        return want == got
    w, g = mask(want), mask(got)
    if NUM.sub('#', w) != NUM.sub('#', g):
        return False
    for a, b in zip(NUM.findall(w), NUM.findall(g)):
        x, y = float(a.replace(',', '')), float(b.replace(',', ''))
        if abs(x - y) > 0.01 * max(abs(x), abs(y)) + 1e-9:
            return False
    return True
bad, done = [], []
for cmd, shown in steps:
    argv = re.findall(r'"[^"]*"|\S+', cmd)
    argv = ['./charnn'] + [a.strip('"') for a in argv[1:]]
    argv = [a for a in argv if a != '>' and not a.endswith('.tsv')]
    p = subprocess.run(argv, cwd=run, capture_output=True, text=True)
    if p.returncode != 0:
        bad.append('%s: exit %d: %s' % (cmd, p.returncode, p.stderr.strip()[:200]))
        continue
    kind = argv[1]
    # score's summary is on stderr, the rest on stdout, train's log included
    got = (p.stderr if kind == 'score' else p.stdout + p.stderr).rstrip('\n').split('\n')
    exact = kind in ('trace', 'sample')
    at = 0
    for line in [l for l in shown if l != '...']:
        hit = next((j for j in range(at, len(got)) if same(line, got[j], exact)), None)
        if hit is None:
            bad.append('%s: the guide shows a line it does not print (in that order): %r' % (cmd[:60], line[:120]))
            break
        at = hit + 1
    else:
        done.append('%s (%d lines)' % (kind, len([l for l in shown if l != '...'])))
print('\n'.join(bad) or 'as the guide shows: ' + ', '.join(done))
sys.exit(1 if bad or len(done) < 6 else 0)
EOF
check $? "each command of the guide prints what it shows ($(tail -1 "$T/report"))" "$T/report"
fi

BROWSER=
for b in chromium chromium-browser google-chrome; do
    command -v $b >/dev/null 2>&1 && { BROWSER=$b; break; }
done
if [ -z "$BROWSER" ] || ! command -v cmark-gfm >/dev/null 2>&1; then
    echo "ok - the guide rendered as GitHub does reads right to left # skipped: no chromium or cmark-gfm here (.ci/run installs Debian's)"
else
    # rendered as GitHub renders Markdown (cmark-gfm, tables, its HTML kept),
    # with a script that records each block's direction and where the first
    # paragraph's first and last letters are laid out
    {
        printf '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><article>\n'
        cmark-gfm --unsafe -e table "$GUIDE"
        cat <<'EOF'
</article><script>
var o={blocks:[]};
document.querySelectorAll('article p,article li,article h1,article h2,article th,article td,article pre').forEach(function(e){
 o.blocks.push([e.tagName,getComputedStyle(e).direction,e.textContent.slice(0,40)])});
var p=document.querySelector('article p'),t=p.firstChild,r=document.createRange();
r.setStart(t,0);r.setEnd(t,1);var a=r.getBoundingClientRect();
r.setStart(t,t.length-2);r.setEnd(t,t.length-1);var z=r.getBoundingClientRect();
var box=p.getBoundingClientRect();o.first=[a.left,a.right,a.top];o.last=[z.left,z.right,z.top];o.box=[box.left,box.right];
document.body.setAttribute('data-probe',JSON.stringify(o));
</script></body></html>
EOF
    } >"$T/guide.html"
    timeout 60 $BROWSER --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$T/profile" --dump-dom --window-size=900,700 "file://$T/guide.html" \
        >"$T/guide.dom" 2>"$T/browser.log"
    python3 - "$T/guide.dom" <<'EOF' >"$T/report" 2>&1
import html, json, re, sys
m = re.search(r'data-probe="([^"]*)"', open(sys.argv[1], encoding='utf-8').read())
if not m:
    sys.exit('the page did not load')
o = json.loads(html.unescape(m.group(1)))
bad, counts = [], {'rtl': 0, 'ltr': 0}
for tag, d, text in o['blocks']:
    latin = re.match(r'[ -~]', text) is not None
    if tag == 'PRE':
        if latin and d != 'ltr':
            bad.append('a command block is laid out %s: %r' % (d, text))
    elif d != 'rtl':
        bad.append('a %s is laid out %s: %r' % (tag, d, text))
    counts[d] += 1
first, last, box = o['first'], o['last'], o['box']
# the first paragraph starts at the right edge and reads leftwards
if not (box[1] - first[1] < 20 and (last[2] > first[2] or last[0] < first[0])):
    bad.append('the first paragraph does not start at the right: first letter %r, last %r, box %r' % (first, last, box))
print('\n'.join(bad) or '%d blocks right to left, %d command blocks left to right; the first paragraph starts %.0f px from the right edge' % (counts['rtl'], counts['ltr'], box[1] - first[1]))
sys.exit(1 if bad else 0)
EOF
    check $? "the guide rendered as GitHub does (cmark-gfm) reads right to left in chromium, its commands left to right ($(tail -1 "$T/report"))" "$T/report"
fi
