#!/bin/sh
# make install into a temporary DESTDIR: the binary, header, static
# library, man page and pkg-config file; README's library example compiled
# against the installed copy with `cc example.c $(pkg-config --cflags --libs
# charnn)` and run on a checkpoint; make uninstall removes everything.
if [ "${SANITIZE:-}" = 1 ]; then
    echo "ok - install: checked in the normal build # skipped"
    exit 0
fi
if ! command -v pkg-config >/dev/null 2>&1; then
    echo "ok - install: pkg-config is not installed (.ci/run installs it) # skipped"
    exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
m() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s "$@"; }
m install DESTDIR="$dir/root" PREFIX=/usr/local > "$dir/log" 2>&1
rc=$?
missing=
for f in bin/charnn include/charnn.h lib/libcharnn.a lib/pkgconfig/charnn.pc share/man/man1/charnn.1; do
    [ -f "$dir/root/usr/local/$f" ] || missing="$missing $f"
done
[ $rc -eq 0 ] && [ -z "$missing" ] && echo "ok - make install puts charnn, charnn.h, libcharnn.a, charnn.pc and charnn.1 under PREFIX in DESTDIR" ||
    { echo "not ok - make install (exit $rc; missing:$missing)"; sed 's/^/    /' "$dir/log"; }
# the example from README.md, between its #include and the end of main
awk '/^    #include <charnn.h>$/ { on = 1 } on { print substr($0, 5) } on && /^    }$/ { exit }' README.md > "$dir/example.c"
export PKG_CONFIG_PATH="$dir/root/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dir/root"
cc -o "$dir/example" "$dir/example.c" $(pkg-config --cflags --libs charnn) 2> "$dir/cc"
[ $? -eq 0 ] && [ -s "$dir/example.c" ] && grep -q 'cn_sampler_draw' "$dir/example.c"
rc=$?
[ $rc -eq 0 ] && echo "ok - README's example compiles against the installed copy with pkg-config" ||
    { echo "not ok - README's example does not compile"; sed 's/^/    /' "$dir/cc"; }
printf 'abc abc abc\n%.0s' $(seq 1 30) > "$dir/c.txt"
"$dir/root/usr/local/bin/charnn" train "$dir/c.txt" --hidden 8 --layers 1 --batch 2 --seq-length 8 \
    --iters 3 --checkpoint "$dir/c.ckpt" > /dev/null 2>&1
out=$("$dir/example" "$dir/c.ckpt")
[ $? -eq 0 ] && [ "${#out}" -eq 200 ]
echo "$( [ $? -eq 0 ] && echo ok || echo not ok ) - the installed charnn trains and the example samples 200 characters from its checkpoint"
m uninstall DESTDIR="$dir/root" PREFIX=/usr/local > "$dir/log" 2>&1
left=$(find "$dir/root" -type f | wc -l)
[ "$left" -eq 0 ] && echo "ok - make uninstall removes every installed file" ||
    echo "not ok - make uninstall left $left files"
