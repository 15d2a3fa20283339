#!/bin/sh
# make install into a temporary DESTDIR: the binary, header, static and
# shared libraries (versioned soname and links), man page and pkg-config
# file; the shared library exports exactly the functions charnn.h declares;
# README's C example built against the installed copy twice, with the
# shared library through pkg-config and with the static library, and both
# run on a checkpoint; README's Python (ctypes) snippet run against the
# installed shared library; make uninstall removes everything. Under
# make test CROSS_COMPILE=... the same for that build: the example built
# with its compiler, the programs run under EMU (qemu-aarch64) with the
# target's libraries, and the Python snippet skipped.
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

printf 'abc abc abc\n%.0s' $(seq 1 30) > "$dir/c.txt"
target "$dir/root/usr/local/bin/charnn" train "$dir/c.txt" --hidden 8 --layers 1 --batch 2 --seq-length 8 \
    --iters 3 --checkpoint "$dir/c.ckpt" > /dev/null 2>&1
check $? "the installed charnn trains"

# the C example from README.md, between its #include and the end of main
awk '/^    #include <charnn.h>$/ { on = 1 } on { print substr($0, 5) } on && /^    }$/ { exit }' README.md > "$dir/example.c"
export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dir/root"
if [ -z "$macos" ]; then
    $cc -o "$dir/shared" "$dir/example.c" $(pkg-config --cflags --libs charnn) 2> "$dir/cc" &&
        grep -q 'cn_sampler_draw' "$dir/example.c" && readelf -d "$dir/shared" | grep -q "NEEDED.*\[$soname\]"
    check $? "README's example builds against the shared library with pkg-config" "$dir/cc"
    out=$(LD_LIBRARY_PATH="$lib" target "$dir/shared" "$dir/c.ckpt")
    [ $? -eq 0 ] && [ "${#out}" -eq 200 ]
    check $? "linked to the shared library, it samples 200 characters from the checkpoint"
else
    not_elf "README's example builds against the shared library with pkg-config"
    not_elf "linked to the shared library, it samples 200 characters from the checkpoint"
fi
# the libraries the program loads: readelf's NEEDED, otool -L on macOS
if [ -z "$macos" ]; then loads() { readelf -d "$1" | grep "NEEDED"; }; else loads() { otool -L "$1"; }; fi
if [ -n "$pkgconfig" ]; then
    $cc -o "$dir/static" "$dir/example.c" $(pkg-config --cflags charnn) "$lib/libcharnn.a" \
        $(pkg-config --static --libs-only-l charnn | sed 's/-lcharnn//') 2> "$dir/cc" &&
        ! loads "$dir/static" | grep -q "libcharnn"
    check $? "README's example builds against the static library" "$dir/cc"
else
    # (macOS without pkg-config: charnn.pc's Cflags and Libs.private given by hand)
    $cc -o "$dir/static" "$dir/example.c" -I"$dir/root/usr/local/include" "$lib/libcharnn.a" \
        -lm -pthread 2> "$dir/cc" && ! loads "$dir/static" | grep -q "libcharnn"
    check $? "README's example builds against the static library (no pkg-config here: its flags by hand)" "$dir/cc"
fi
out=$(target "$dir/static" "$dir/c.ckpt")
[ $? -eq 0 ] && [ "${#out}" -eq 200 ]
check $? "linked statically, it samples 200 characters from the checkpoint"

# the Python snippet from README.md, from its import to its last line
if [ -n "$macos" ]; then
    not_elf "README's Python snippet samples 200 characters through ctypes"
elif [ -n "${EMU:-}" ]; then
    echo "ok - README's Python snippet samples 200 characters through ctypes # skipped: the host's python3 cannot load the target's library"
elif command -v python3 >/dev/null 2>&1; then
    awk '/^    import ctypes, sys$/ { on = 1 } on && /^[^ ]/ { exit } on { print substr($0, 5) }' README.md > "$dir/sample.py"
    out=$(python3 "$dir/sample.py" "$lib/libcharnn.so" "$dir/c.ckpt" 2> "$dir/py")
    [ $? -eq 0 ] && [ "${#out}" -eq 200 ] && [ -s "$dir/sample.py" ]
    check $? "README's Python snippet samples 200 characters through ctypes" "$dir/py"
else
    echo "not ok - python3 is not installed (.ci/run installs it)"
fi

m uninstall DESTDIR="$dir/root" PREFIX=/usr/local > "$dir/log" 2>&1
left=$(find "$dir/root" -type f -o -type l | wc -l)
[ "$left" -eq 0 ]
check $? "make uninstall removes every installed file and link ($left left)"
