#!/usr/bin/env python3
"""The man pages and shell completions xport prints at build time say what
`--help` says: every command has a page; every option of a command's --help
is on its page (same names, value and text, in the same order), completes in
bash and is declared to zsh; xport(1) lists every command and every
adapter's options as `xport adapters NAME` prints them; and the files are
what the xport at hand prints now (not stale).

usage: check_docs.py XPORT MAN1_DIR BASH_FILE ZSH_FILE"""
import os
import re
import shutil
import subprocess
import sys

xport, man_dir, bash_file, zsh_file = sys.argv[1:5]
env = dict(os.environ)
env.pop("XPORT_PLUGIN_PATH", None)
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(*args, may_fail=False):
    p = subprocess.run([xport, *args], env=env, capture_output=True, text=True)
    if p.returncode != 0 and may_fail:
        return None
    if p.returncode != 0:
        sys.exit("xport %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def norm(s):
    return " ".join(s.split())


def commands():
    out = run("--help")
    block = out.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^  (\S+) +(.*)$", block, re.M)]


def help_options(cmd):
    """[(left column, help text)] of `xport CMD --help`, up to -h, --help."""
    opts = []
    for line in run(cmd, "--help").splitlines():
        if line.startswith(" " * 32) and opts:
            opts[-1][1] += " " + line.strip()
            continue
        if not re.match(r"^  (-|    --)", line):
            continue
        # the text starts at column 32, or on the next line after a long name
        if len(line) > 32 and line[31] == " ":
            left, text = line[:32].strip(), line[32:].strip()
        else:
            left, text = line.strip(), ""
        opts.append([left, text])
        if left == "-h, --help":
            break
    return [(l, norm(h)) for l, h in opts]


def option_words(left):
    """'-n, --[no-]dry-run' -> {-n, --dry-run, --no-dry-run}"""
    words = set()
    for part in left.split(", "):
        name = part.split(" ")[0]
        if name.startswith("--[no-]"):
            words |= {"--" + name[7:], "--no-" + name[7:]}
        else:
            words.add(name)
    return words


def unroff(s):
    s = re.sub(r"\\f[BIRP]", "", s)
    s = re.sub(r"\\\[u([0-9A-F]{4,6})\]", lambda m: chr(int(m.group(1), 16)), s)
    return s.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


def man_entries(text):
    """[(term, text)] of the .TP entries of a page, unescaped."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line == ".TP" and i + 1 < len(lines):
            body = []
            for b in lines[i + 2:]:
                if b.startswith("."):
                    break
                body.append(b)
            out.append((unroff(lines[i + 1]), norm(unroff(" ".join(body)))))
    return out


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (path, e))
        return ""


cmds = commands()
if not cmds:
    sys.exit("xport --help lists no commands")
bash_src = read(bash_file)
zsh_src = read(zsh_file)
main_page = read(os.path.join(man_dir, "xport.1"))
if main_page != run("--dump-man"):
    fail("xport.1 is not what xport --dump-man prints now")
if bash_src != run("--dump-completion", "bash"):
    fail("%s is not what xport --dump-completion bash prints now" % bash_file)
if zsh_src != run("--dump-completion", "zsh"):
    fail("%s is not what xport --dump-completion zsh prints now" % zsh_file)

all_words = {}
for name, summary in cmds:
    opts = help_options(name)
    if not opts or opts[-1][0] != "-h, --help":
        fail("xport %s --help: no options found" % name)
        continue
    words = set()
    for left, _ in opts:
        words |= option_words(left)
    all_words[name] = words
    page_path = os.path.join(man_dir, "xport-%s.1" % name)
    page = read(page_path)
    if page and page != run("--dump-man", name):
        fail("%s is not what xport --dump-man %s prints now" % (page_path, name))
    if "xport\\-%s \\- %s" % (name, summary.replace("-", "\\-")) not in page:
        fail("%s: NAME does not say '%s'" % (page_path, summary))
    # the page's options: the help's, in its order, with its words
    entries = man_entries(page)
    if [e[0] for e in entries] != [o[0] for o in opts]:
        missing = [o[0] for o in opts if o[0] not in [e[0] for e in entries]]
        extra = [e[0] for e in entries if e[0] not in [o[0] for o in opts]]
        fail("%s: options differ from --help (missing %s, not in --help %s)"
             % (page_path, missing, extra))
    for (left, text), (term, body) in zip(opts, entries):
        if left == term and text != body:
            fail("%s: %s says '%s', --help says '%s'" % (page_path, left, body, text))
    # zsh declares every option word
    m = re.search(r"^_xport_%s\(\) \{\n(.*?)\n\}" % re.escape(name.replace("-", "_")),
                  zsh_src, re.M | re.S)
    if not m:
        fail("%s: no function _xport_%s" % (zsh_file, name))
    else:
        z = set()
        for spec in m.group(1).splitlines():
            b = re.search(r"\{(-\w)\+?,(--[\w-]+)=?\}", spec)
            if b:
                z |= {b.group(1), b.group(2)}
                continue
            s = re.match(r"\s*'(?:\*|\([^)]*\))?(--?[\w-]+)[+=]?\[", spec)
            if s:
                z.add(s.group(1))
        if z != words:
            fail("%s: _xport_%s declares %s; --help has %s"
                 % (zsh_file, name, sorted(z - words), sorted(words - z)))

# bash: completing "xport CMD -" offers exactly the help's options
if shutil.which("bash"):
    script = ["source %s" % bash_file, "compopt() { :; }"]
    for name in all_words:
        script.append("COMP_LINE='xport %s -'; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); "
                      "_xport; echo \"%s:${COMPREPLY[*]}\"" % (name, name))
    script.append("COMP_LINE='xport '; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _xport; "
                  "echo \":${COMPREPLY[*]}\"")
    p = subprocess.run(["bash", "--norc", "-c", "\n".join(script)], capture_output=True,
                       text=True)
    if p.returncode or p.stderr:
        fail("bash completion: exit %d: %s" % (p.returncode, p.stderr))
    got = dict(line.split(":", 1) for line in p.stdout.splitlines() if ":" in line)
    for name, words in all_words.items():
        offered = set(got.get(name, "").split())
        if offered != words:
            fail("bash: 'xport %s -' offers %s extra, %s missing"
                 % (name, sorted(offered - words), sorted(words - offered)))
    if set(got.get("", "").split()) != {c for c, _ in cmds} | {"--help", "--version"}:
        fail("bash: 'xport ' offers %s" % got.get(""))
if shutil.which("zsh"):
    p = subprocess.run(["zsh", "-n", zsh_file], capture_output=True, text=True)
    if p.returncode:
        fail("zsh -n %s: %s" % (zsh_file, p.stderr))
    # sourced after compinit, it registers _xport for xport with a function
    # per command
    fns = " ".join("$+functions[_xport_%s]" % n.replace("-", "_") for n in all_words)
    p = subprocess.run(["zsh", "-f", "-c", 'autoload -U compinit && compinit -u -D && '
                        'source "$1" && print -r -- "$_comps[xport] %s"' % fns, "zsh",
                        zsh_file], capture_output=True, text=True)
    want = "_xport " + " ".join("1" for _ in all_words)
    if p.returncode or p.stdout.strip() != want:
        fail("zsh: sourcing %s gave '%s' (want '%s'): %s"
             % (zsh_file, p.stdout.strip(), want, p.stderr.strip()))

# xport(1): every command and every adapter with the options it reads
for name, _ in cmds:
    if ".BR xport\\-%s (1)" % name not in main_page:
        fail("xport.1 does not list command %s" % name)
main_entries = [e[0] for e in man_entries(main_page)]
for line in run("adapters").splitlines():
    ad = line.split()[0]
    if "\n.SS %s\n" % ad.replace("-", "\\-") not in main_page:
        fail("xport.1 does not describe adapter %s" % ad)
        continue
    described = run("adapters", ad, may_fail=True)  # None: not built in
    for opt in re.findall(r"^  (--\S+(?: \S+)?(?: \(\S+\))?)", described or "", re.M):
        if opt not in main_entries:
            fail("xport.1: adapter %s's option '%s' is missing" % (ad, opt))

# the pages are valid roff (groff's warnings) when man is here
if shutil.which("man"):
    for f in sorted(os.listdir(man_dir)):
        p = subprocess.run(["man", "--warnings", "-l", os.path.join(man_dir, f)],
                           capture_output=True, text=True, env=dict(env, MANWIDTH="80"))
        if p.returncode or p.stderr.strip():
            fail("man -l %s: %s" % (f, p.stderr.strip()))

if failures:
    sys.exit("%d problem(s)" % len(failures))
print("ok: %d commands, pages and completions agree with --help" % len(cmds))
