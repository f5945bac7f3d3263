#!/bin/sh
# cmake --install into a scratch prefix: what a user and a plugin author
# expect is there, the installed pages and completions are the
# built ones (which pkg_docs compares with --help), and the example plugin
# (examples/plugin, as installed) builds out of tree through pkg-config and
# is loaded through XPORT_PLUGIN_PATH.
# usage: install.sh BUILD_DIR
set -eu
b=$1
unset XPORT_PLUGIN_PATH PKG_CONFIG_PATH
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

p=$t/prefix
cmake --install "$b" --prefix "$p" >/dev/null
for f in bin/xport include/xport/error.h include/xport/record.h include/xport/sys/adapter.h \
         lib/pkgconfig/xport.pc share/man/man1/xport.1 share/man/man1/xport-copy.1 \
         share/bash-completion/completions/xport share/zsh/site-functions/_xport \
         share/doc/xport/README.md share/doc/xport/exit-codes.md \
         share/doc/xport/schemas/xport.schema.json share/doc/xport/examples/plugin/hello.c; do
  [ -e "$p/$f" ] || fail "$f is not installed"
done
"$p/bin/xport" --version | grep -q '^xport [0-9]' || fail "installed xport --version"
# the pages and completions installed are the ones pkg_docs checks against --help
for f in man1/xport.1 man1/xport-copy.1 bash/xport zsh/_xport; do
  case $f in
  man1/*) i=$p/share/man/$f ;;
  bash/*) i=$p/share/bash-completion/completions/xport ;;
  zsh/*) i=$p/share/zsh/site-functions/_xport ;;
  esac
  cmp -s "$b/doc/$f" "$i" || fail "$i differs from the built $b/doc/$f"
done
[ "$(ls "$p/share/man/man1" | wc -l)" -eq "$(ls "$b/doc/man1" | wc -l)" ] ||
  fail "not every built page is installed"

# the example plugin, from the installed copy, with nothing but pkg-config
command -v pkg-config >/dev/null || { echo "skip: pkg-config is not installed"; exit 77; }
command -v make >/dev/null || { echo "skip: make is not installed"; exit 77; }
export PKG_CONFIG_PATH="$p/lib/pkgconfig"
cflags=$(pkg-config --cflags xport)
case "$cflags" in *"$p/"*) ;; *) fail "pkg-config --cflags xport gave '$cflags', not under $p" ;; esac
cp -R "$p/share/doc/xport/examples/plugin" "$t/example"
make -s -C "$t/example" CFLAGS="-O1 -Wall -Wextra -Werror" || fail "the example plugin does not build"
export XPORT_PLUGIN_PATH="$t/example/plugins"
out=$("$p/bin/xport" adapters 2>&1)
echo "$out" | grep -q '^hello  *read' || fail "xport adapters does not list the plugin: $out"
"$p/bin/xport" adapters hello | grep -q -- '--opt points=N (1-1000)' || fail "xport adapters hello"
"$p/bin/xport" download -q --from hello examples -o "$t/out" --opt hello:points=5 ||
  fail "download --from hello exited $?"
data=$t/out/examples/hello/greeting/metrics/count/data.jsonl
[ "$(wc -l <"$data")" -eq 5 ] || fail "$data: not 5 points"
tail -n 1 "$data" | grep -q '"index":4,"data":{"value":5}' || fail "$data: last point"
grep -q 'hello from a plugin' "$t/out/examples/hello/greeting/logs/logs.jsonl" || fail "log line"
echo "ok: installed tree, pages and the example plugin"
