#!/bin/sh
# The Debian package (cpack -G DEB, from the already-built tree): its
# Depends are exactly the packages of the libraries xport is linked against
# (no -dev package), it holds the program, pages, completion, headers and
# pkg-config file, and, installed into a scratch root (dpkg -i --root as
# root, else dpkg-deb -x), xport --version runs and man -l shows the pages.
# usage: deb.sh BUILD_DIR
set -eu
b=$1
for c in cpack dpkg-deb dpkg-shlibdeps objdump; do
  command -v $c >/dev/null ||
    { echo "skip: $c is not installed (Debian's dpkg-dev and binutils build the .deb)"; exit 77; }
done
unset XPORT_PLUGIN_PATH
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# install the built tree once, then package that (cpack's own install step
# would first run `make preinstall` over the whole tree)
cmake --install "$b" --prefix "$t/stage" >/dev/null
cpack --config "$b/CPackConfig.cmake" -B "$t/cpack" -D CPACK_INSTALL_CMAKE_PROJECTS= \
  -D "CPACK_INSTALLED_DIRECTORIES=$t/stage;usr" >"$t/cpack.log" 2>&1 ||
  { cat "$t/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$t"/cpack/*.deb)
echo "package: $(basename "$deb")"

# Depends: the owners of the binary's NEEDED libraries, nothing else
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
libs=$(ldd "$t/stage/bin/xport")
want=$(for lib in $(objdump -p "$t/stage/bin/xport" | awk '$1 == "NEEDED" {print $2}'); do
         path=$(echo "$libs" | awk -v l="$lib" '$1 == l {print $3}')
         # merged /usr: dpkg may know the file under the other name
         for f in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
           dpkg -S "$f" 2>/dev/null && break
         done | head -n 1 | cut -d: -f1
       done | sort -u)
got=$(echo "$depends" | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep . | sort -u)
[ -n "$want" ] || fail "no owner package found for xport's libraries"
[ "$want" = "$got" ] || fail "Depends is '$(echo $got)', the linked libraries' packages are '$(echo $want)'"
echo "$got" | grep -q -- '-dev$' && fail "Depends names a -dev package"

listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in usr/bin/xport usr/share/man/man1/xport.1 usr/share/man/man1/xport-copy.1 \
         usr/share/bash-completion/completions/xport usr/share/zsh/site-functions/_xport \
         usr/include/xport/sys/adapter.h usr/lib/pkgconfig/xport.pc \
         usr/share/doc/xport/exit-codes.md; do
  echo "$listing" | grep -qx "\./$f" || fail "the package has no $f"
done

r=$t/root
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates"
  : >"$r/var/lib/dpkg/status"
  : >"$r/var/lib/dpkg/available"
  # the scratch root has no libc6 etc.; the binary uses the host's
  dpkg --root="$r" --force-depends -i "$deb" >"$t/dpkg.log" 2>&1 ||
    { cat "$t/dpkg.log"; fail "dpkg -i --root"; }
  dpkg --root="$r" -s xport | grep -q '^Status: install ok installed' || fail "dpkg -s xport"
  if [ ! -e "$r/usr/share/man/man1/xport.1" ]; then
    # an image whose dpkg.cfg.d excludes /usr/share/man: read the pages from the package
    echo "note: dpkg left out the man pages (path-exclude); taking them from dpkg-deb -x"
    dpkg-deb -x "$deb" "$t/x"
    mkdir -p "$r/usr/share/man"
    cp -R "$t/x/usr/share/man/man1" "$r/usr/share/man/"
  fi
else
  echo "not root: unpacking with dpkg-deb -x"
  dpkg-deb -x "$deb" "$r"
fi
v=$("$r/usr/bin/xport" --version) || fail "installed xport --version"
echo "$v" | grep -q "^xport $(dpkg-deb -f "$deb" Version)\$" || fail "xport --version says '$v'"

command -v man >/dev/null ||
  { echo "skip: man is not installed (man-db), so man -l was not tried; all else passed"; exit 77; }
page=$(LC_ALL=C MANWIDTH=80 man -l "$r/usr/share/man/man1/xport-copy.1" 2>&1) ||
  fail "man -l xport-copy.1: $page"
echo "$page" | grep -qF -- '--[no-]dry-run' || fail "man -l xport-copy.1 shows no --[no-]dry-run"
page=$(LC_ALL=C MANWIDTH=80 man -l "$r/usr/share/man/man1/xport.1" 2>&1) || fail "man -l xport.1"
echo "$page" | grep -q 'xport-copy(1)' || fail "man -l xport.1 does not name xport-copy(1)"
echo "ok: package installs, runs and shows its pages"
