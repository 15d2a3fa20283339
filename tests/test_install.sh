#!/bin/sh
# make install into a temporary DESTDIR: the binary, headers, static and
# shared libraries (versioned soname and links), man page and pkg-config
# file; the shared library exports exactly the functions charnn.h and
# charnn_tools.h declare, the static library no global name without cn_,
# and charnn.h stays at most 250 lines;
# the library topic's C example (src/doc/library.md) built against the installed copy twice, with the
# shared library through pkg-config and with the static library, and both
# run on a checkpoint; the Python module installed on python3's path for
# its prefix, and, installed under another, imported from there, loading
# the installed library and sampling as charnn does; make uninstall
# removes everything. Under make test CROSS_COMPILE=... the same for that
# build: the example built with its compiler, the programs run under EMU
# (qemu-aarch64) with the target's libraries, and the Python skipped.
# On macOS the shared library is Mach-O, not the ELF libcharnn.so.* these
# checks read with readelf and nm -D and load: each of them says so with a
# skipped line there; the static library is checked with otool instead of
# readelf, and without pkg-config when there is none (macOS ships none).
if [ "${SANITIZE:-}" = 1 ]; then
    echo "ok - install: checked in the normal build # skipped"
    exit 0
fi
macos=
[ "$(uname -s)" = Darwin ] && macos=1
pkgconfig=1
if ! command -v pkg-config >/dev/null 2>&1; then
    if [ -z "$macos" ]; then
        echo "not ok - install: pkg-config is not installed (.ci/run installs it)"
        exit 0
    fi
    pkgconfig=
fi
# not_elf DESC: DESC's line, skipped on macOS
not_elf() { echo "ok - $1 # skipped: macOS, whose shared library is not the ELF libcharnn.so"; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
m() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s ${CROSS_COMPILE:+CROSS_COMPILE=$CROSS_COMPILE} "$@"; }
. "$(dirname "$0")/lib.sh" # check
# the target's compiler, nm and programs: the host's, or under emulation
# the cross compiler's, and EMU with the target's libraries (QEMU_LD_PREFIX)
cc=cc nm=nm
if [ -n "${EMU:-}" ]; then
    cc=${CROSS_COMPILE}gcc nm=${CROSS_COMPILE}nm
    QEMU_LD_PREFIX=$(dirname "$(dirname "$(readlink -f "$($cc -print-file-name=libc.so.6)")")")
    export QEMU_LD_PREFIX
fi
target() { ${EMU:-} "$@"; }
m install DESTDIR="$dir/root" PREFIX=/usr/local > "$dir/log" 2>&1
rc=$?
lib=$dir/root/usr/local/lib
version=$(sed -n 's/^#define CHARNN_VERSION "\(.*\)"/\1/p' include/charnn.h)
soname=libcharnn.so.$(echo "$version" | cut -d. -f1-2)
missing=
shared=lib/libcharnn.so.$version
[ -n "$macos" ] && shared=
for f in bin/charnn include/charnn.h include/charnn_tools.h lib/libcharnn.a $shared \
    lib/pkgconfig/charnn.pc share/man/man1/charnn.1; do
    [ -f "$dir/root/usr/local/$f" ] || missing="$missing $f"
done
if [ -z "$macos" ]; then
    [ "$(readlink "$lib/$soname")" = "libcharnn.so.$version" ] || missing="$missing $soname"
    [ "$(readlink "$lib/libcharnn.so")" = "$soname" ] || missing="$missing libcharnn.so"
fi
[ $rc -eq 0 ] && [ -z "$missing" ]
installed=$?
if [ -z "$macos" ]; then
    check $installed "make install puts charnn, charnn.h, libcharnn.a, libcharnn.so.$version with its links, charnn.pc and charnn.1 under PREFIX (exit $rc; missing:$missing)" "$dir/log"
    readelf -d "$lib/libcharnn.so.$version" 2>/dev/null | grep -q "SONAME.*\[$soname\]"
    check $? "the shared library's soname is $soname"
else
    check $installed "make install puts charnn, charnn.h, libcharnn.a, charnn.pc and charnn.1 under PREFIX (exit $rc; missing:$missing)" "$dir/log"
    not_elf "make install puts libcharnn.so.$version with its links"
    not_elf "the shared library's soname is $soname"
fi

# every CN_API function and table of charnn.h and charnn_tools.h, and
# nothing else, is exported
sed -n 's/^CN_API[^(]*[ *]\([a-z0-9_]*\)\(\[\]\)\{0,1\}[(;].*/\1/p' include/charnn.h \
    include/charnn_tools.h | sort > "$dir/declared"
if [ -z "$macos" ]; then
    $nm -D --defined-only "$lib/libcharnn.so.$version" | awk '{ print $3 }' | sort > "$dir/exported"
    [ -s "$dir/declared" ] && cmp -s "$dir/declared" "$dir/exported"
    check $? "the shared library exports exactly the $(wc -l < "$dir/declared") names charnn.h and charnn_tools.h declare" "$dir/exported"
else
    not_elf "the shared library exports exactly the names charnn.h declares"
fi

# the public header stays what a program needs (issue 24: at most 250 lines)
lines=$(wc -l < include/charnn.h)
[ "$lines" -le 250 ]
check $? "include/charnn.h is $lines lines, at most 250"

# no global name of the static library lacks the cn_ prefix (Mach-O's names
# start with an underscore of their own)
$nm -g --defined-only "$lib/libcharnn.a" 2>/dev/null | awk 'NF == 3 { print $3 }' |
    sed "s/^${macos:+_}//" > "$dir/static"
grep -v '^cn_' "$dir/static" > "$dir/foreign"
[ -s "$dir/static" ] && [ ! -s "$dir/foreign" ]
check $? "the static library's $(wc -l < "$dir/static") global names all start with cn_" "$dir/foreign"

printf 'abc abc abc\n%.0s' $(seq 1 30) > "$dir/c.txt"
target "$dir/root/usr/local/bin/charnn" train "$dir/c.txt" --hidden 8 --layers 1 --batch 2 --seq-length 8 \
    --iters 3 --checkpoint "$dir/c.ckpt" > /dev/null 2>&1
check $? "the installed charnn trains"

# the C example from the library topic (src/doc/library.md), between its #include and the end of main
awk '/^    #include <charnn.h>$/ { on = 1 } on { print substr($0, 5) } on && /^    }$/ { exit }' src/doc/library.md > "$dir/example.c"
export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dir/root"
if [ -z "$macos" ]; then
    $cc -o "$dir/shared" "$dir/example.c" $(pkg-config --cflags --libs charnn) 2> "$dir/cc" &&
        grep -q 'cn_sampler_draw' "$dir/example.c" && readelf -d "$dir/shared" | grep -q "NEEDED.*\[$soname\]"
    check $? "the library topic's C example builds against the shared library with pkg-config" "$dir/cc"
    out=$(LD_LIBRARY_PATH="$lib" target "$dir/shared" "$dir/c.ckpt")
    [ $? -eq 0 ] && [ "${#out}" -eq 200 ]
    check $? "linked to the shared library, it samples 200 characters from the checkpoint"
else
    not_elf "the library topic's C example builds against the shared library with pkg-config"
    not_elf "linked to the shared library, it samples 200 characters from the checkpoint"
fi
# the libraries the program loads: readelf's NEEDED, otool -L on macOS
if [ -z "$macos" ]; then loads() { readelf -d "$1" | grep "NEEDED"; }; else loads() { otool -L "$1"; }; fi
if [ -n "$pkgconfig" ]; then
    $cc -o "$dir/static" "$dir/example.c" $(pkg-config --cflags charnn) "$lib/libcharnn.a" \
        $(pkg-config --static --libs-only-l charnn | sed 's/-lcharnn//') 2> "$dir/cc" &&
        ! loads "$dir/static" | grep -q "libcharnn"
    check $? "the library topic's C example builds against the static library" "$dir/cc"
else
    # (macOS without pkg-config: charnn.pc's Cflags and Libs.private given by hand)
    $cc -o "$dir/static" "$dir/example.c" -I"$dir/root/usr/local/include" "$lib/libcharnn.a" \
        -lm -pthread 2> "$dir/cc" && ! loads "$dir/static" | grep -q "libcharnn"
    check $? "the library topic's C example builds against the static library (no pkg-config here: its flags by hand)" "$dir/cc"
fi
out=$(target "$dir/static" "$dir/c.ckpt")
[ $? -eq 0 ] && [ "${#out}" -eq 200 ]
check $? "linked statically, it samples 200 characters from the checkpoint"

# the Python module: installed where python3 looks under PREFIX, with the
# installed library's path written in, which it loads from there
if [ -n "$macos" ]; then
    not_elf "the Python module is installed and loads the installed library"
elif [ -n "${EMU:-}" ]; then
    echo "ok - the Python module is installed and loads the installed library # skipped: the host's python3 cannot load the target's library"
elif command -v python3 >/dev/null 2>&1; then
    # a Python of this prefix finds the module without help: PREFIX = its sys.prefix
    prefix=$(python3 -c 'import sys; print(sys.prefix)')
    m install-python DESTDIR="$dir/py" PREFIX="$prefix" PYTHON=python3 > "$dir/log" 2>&1
    found=$(find "$dir/py" -name charnn.py | sed "s|^$dir/py||")
    [ -n "$found" ] && python3 -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' "$(dirname "$found")"
    check $? "make install PREFIX=$prefix (python3's own prefix) puts charnn.py on python3's path: $found" "$dir/log"
    # a real install (no DESTDIR) under a prefix of the test's, imported from there
    m install PREFIX="$dir/usr" PYTHON=python3 > "$dir/log" 2>&1
    mod=$(find "$dir/usr" -name charnn.py)
    out=$(cd / && env -u CHARNN_LIB PYTHONPATH="$(dirname "$mod")" python3 -c '
import charnn, sys
print(charnn.__file__, charnn.library)
print(charnn.load(sys.argv[1]).sample(length=200, seed=3))' "$dir/c.ckpt" 2> "$dir/py.err")
    want=$("$dir/usr/bin/charnn" sample "$dir/c.ckpt" --length 200 --seed 3)
    [ -n "$mod" ] && [ "$(echo "$out" | head -n 1)" = "$mod $dir/usr/lib/$soname" ] &&
        [ "$(echo "$out" | tail -n +2)" = "$want" ]
    check $? "installed, the module imports from there, loads $soname from PREFIX/lib and samples as charnn does" "$dir/py.err"
    m uninstall PREFIX="$dir/usr" PYTHON=python3 > "$dir/log" 2>&1
    m uninstall-python DESTDIR="$dir/py" PREFIX="$prefix" PYTHON=python3 >> "$dir/log" 2>&1
    left=$(find "$dir/usr" "$dir/py" -type f -o -type l | wc -l)
    [ "$left" -eq 0 ]
    check $? "make uninstall removes the module too, and what importing it wrote ($left left)" "$dir/log"
else
    echo "not ok - python3 is not installed (.ci/run installs it)"
fi

m uninstall DESTDIR="$dir/root" PREFIX=/usr/local > "$dir/log" 2>&1
left=$(find "$dir/root" -type f -o -type l | wc -l)
[ "$left" -eq 0 ]
check $? "make uninstall removes every installed file and link ($left left)"
