/* bash and zsh completion scripts from the command table, each command's
 * option table (its value completed by what its argname names: adapters,
 * resources, --opt keys, folders, files) and the adapter table. */
#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "xport/buf.h"
#include "xport/record.h"

/* What an option's value is, named by its argname ("DIR", "VENDOR", ...). */
enum doc_value { DOC_V_TEXT, DOC_V_ADAPTER, DOC_V_RESOURCE, DOC_V_OPTKEY, DOC_V_DIR,
                 DOC_V_FILE };

static enum doc_value doc_value_of(const struct opt *o)
{
    static const struct { const char *argname; enum doc_value v; } kinds[] = {
        {"VENDOR", DOC_V_ADAPTER}, {"RESOURCE", DOC_V_RESOURCE},
        {"[ADAPTER:]KEY=VALUE", DOC_V_OPTKEY}, {"DIR", DOC_V_DIR},
        {"FILE", DOC_V_FILE}, {"PATH", DOC_V_FILE}};
    for (size_t i = 0; o->argname && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(o->argname, kinds[i].argname))
            return kinds[i].v;
    return DOC_V_TEXT;
}

static const char *const kind_names[] = {
    [DOC_V_TEXT] = "text",         [DOC_V_ADAPTER] = "adapter", [DOC_V_RESOURCE] = "resource",
    [DOC_V_OPTKEY] = "optkey",     [DOC_V_DIR] = "dir",         [DOC_V_FILE] = "file"};

/* s inside a shell word in single quotes: ' as '\'' */
static void sq(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
}

/* s for _arguments: inside single quotes, with chars special to it (the
 * ones in esc) escaped with a backslash */
static void zq(FILE *f, const char *s, const char *esc)
{
    for (; *s; s++) {
        if (*s == '\'') {
            fputs("'\\''", f);
            continue;
        }
        if (*s == '\\' || strchr(esc, *s))
            fputc('\\', f);
        fputc(*s, f);
    }
}

/* The words a value of kind k can be, space separated (adapters that are
 * built in, resources, --opt keys with and without their adapter). */
static void words(struct xp_buf *b, enum doc_value k, const char *suffix)
{
    const struct xp_adapter_type *t;
    switch (k) {
    case DOC_V_ADAPTER:
        for (size_t i = 0; (t = xp_adapter_at(i)); i++)
            if (t->open)
                xp_buf_printf(b, "%s%s%s", b->len ? " " : "", t->name, suffix);
        break;
    case DOC_V_RESOURCE:
        for (unsigned bit = 1; bit & XP_RES_ALL; bit <<= 1)
            xp_buf_printf(b, "%s%s", b->len ? " " : "", xp_resource_name(bit));
        break;
    case DOC_V_OPTKEY: {
        struct xp_buf seen = XP_BUF_INIT;
        for (size_t i = 0; (t = xp_adapter_at(i)); i++)
            for (const struct xp_option_decl *d = t->options; t->open && d && d->key; d++) {
                if (d->flags & XP_OPT_FLAG)
                    continue;
                xp_buf_printf(b, "%s%s:%s=", b->len ? " " : "", t->name, d->key);
                struct xp_buf key = XP_BUF_INIT;
                xp_buf_printf(&key, " %s= ", d->key);
                if (!strstr(seen.ptr, key.ptr)) {
                    xp_buf_printf(b, " %s=", d->key);
                    xp_buf_printf(&seen, "%s", key.ptr);
                }
                xp_buf_release(&key);
            }
        xp_buf_release(&seen);
        break;
    }
    default: break;
    }
}

/* ---- bash --------------------------------------------------------------- */

static void doc_bash_command(const struct opt *opts, const struct cmd_usage *u, FILE *f)
{
    (void)u;
    fprintf(f, "    %s)\n        opts='", opt_doc.name);
    for (const struct opt *o = opts; o->type != OPT_END; o++) {
        if (o->type == OPT_GROUP)
            continue;
        if (o->shortname)
            fprintf(f, "-%c ", o->shortname);
        if (o->longname)
            fprintf(f, "--%s ", o->longname);
        if (o->longname && o->type == OPT_BOOL && strncmp(o->longname, "no-", 3))
            fprintf(f, "--no-%s ", o->longname);
    }
    fputs("-h --help'\n        case $opt in\n", f);
    for (enum doc_value k = DOC_V_TEXT; k <= DOC_V_FILE; k++) {
        int n = 0;
        for (const struct opt *o = opts; o->type != OPT_END; o++) {
            if (o->type == OPT_GROUP || o->type == OPT_BOOL || doc_value_of(o) != k)
                continue;
            if (o->shortname)
                fprintf(f, "%s-%c", n++ ? "|" : "        ", o->shortname);
            if (o->longname)
                fprintf(f, "%s--%s", n++ ? "|" : "        ", o->longname);
        }
        if (n)
            fprintf(f, ") kind=%s ;;\n", kind_names[k]);
    }
    fputs("        esac ;;\n", f);
}

static void bash_script(FILE *f, const struct xp_cmd *cmds)
{
    struct xp_buf b = XP_BUF_INIT;
    fputs("# bash completion for xport, printed by `xport --dump-completion bash` from\n"
          "# the tables that print `xport COMMAND --help` and the adapter table.\n"
          "# Installed as share/bash-completion/completions/xport; or load it with\n"
          "#   source <(xport --dump-completion bash)\n\n", f);
    static const enum doc_value lists[] = {DOC_V_ADAPTER, DOC_V_RESOURCE, DOC_V_OPTKEY};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        words(&b, lists[i], "");
        fprintf(f, "_xport_%s='", kind_names[lists[i]]);
        sq(f, b.ptr);
        fputs("'\n", f);
        xp_buf_release(&b);
    }
    words(&b, DOC_V_ADAPTER, ":");
    fputs("_xport_location='", f);
    sq(f, b.ptr);
    fputs("'\n", f);
    xp_buf_release(&b);
    fputs("\n"
          "# Readline replaces only the part of the word after its last\n"
          "# COMP_WORDBREAKS character (':', '='): drop what comes before from the\n"
          "# replies.\n"
          "_xport_trim() {\n"
          "    local i\n"
          "    for ((i = ${#cur} - 1; i >= 0; i--)); do\n"
          "        [[ $COMP_WORDBREAKS == *\"${cur:i:1}\"* ]] && break\n"
          "    done\n"
          "    ((i >= 0)) && COMPREPLY=(\"${COMPREPLY[@]#\"${cur:0:i+1}\"}\")\n"
          "}\n\n"
          "# _xport_values KIND VALUE PREFIX: the values of an option\n"
          "_xport_values() {\n"
          "    local v\n"
          "    case $1 in\n"
          "    adapter) v=$(compgen -W \"$_xport_adapter\" -- \"$2\") ;;\n"
          "    resource) v=$(compgen -W \"$_xport_resource\" -- \"$2\") ;;\n"
          "    optkey) v=$(compgen -W \"$_xport_optkey\" -- \"$2\"); compopt -o nospace ;;\n"
          "    dir) v=$(compgen -d -- \"$2\") ;;\n"
          "    file) v=$(compgen -f -- \"$2\") ;;\n"
          "    esac\n"
          "    local IFS=$'\\n'\n"
          "    COMPREPLY=($v)\n"
          "    COMPREPLY=(\"${COMPREPLY[@]/#/$3}\")\n"
          "}\n\n"
          "_xport() {\n"
          "    local line=${COMP_LINE:0:COMP_POINT} cur= opt= val= pfx= kind= opts=\n"
          "    local -a w\n"
          "    read -ra w <<<\"$line\"\n"
          "    if [[ $line == *[![:space:]] ]]; then\n"
          "        cur=${w[${#w[@]} - 1]}\n"
          "        unset 'w[${#w[@]} - 1]'\n"
          "    fi\n"
          "    local n=${#w[@]}\n"
          "    COMPREPLY=()\n"
          "    if ((n <= 1)); then\n"
          "        COMPREPLY=($(compgen -W '", f);
    for (const struct xp_cmd *c = cmds; c->name; c++)
        fprintf(f, "%s ", c->name);
    fputs("--help --version' -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    if [[ $cur == --*=* ]]; then\n"
          "        opt=${cur%%=*} val=${cur#*=} pfx=${cur%%=*}=\n"
          "    else\n"
          "        opt=${w[n - 1]} val=$cur\n"
          "    fi\n"
          "    case ${w[1]} in\n", f);
}

static void bash_end(FILE *f)
{
    fputs("    *) return ;;\n"
          "    esac\n"
          "    if [[ -n $kind ]]; then\n"
          "        _xport_values \"$kind\" \"$val\" \"$pfx\"\n"
          "    elif [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "    else\n"
          "        _xport_values file \"$cur\" ''\n"
          "        COMPREPLY+=($(compgen -W \"$_xport_location\" -- \"$cur\"))\n"
          "        [[ ${COMPREPLY[*]} == *: || ${COMPREPLY[*]} == *:\\ * ]] && compopt -o nospace\n"
          "    fi\n"
          "    _xport_trim\n"
          "}\n"
          "complete -F _xport xport\n", f);
}

/* ---- zsh ---------------------------------------------------------------- */

static void zsh_fn_name(FILE *f, const char *name)
{
    fputs("_xport_", f);
    for (; *name; name++)
        fputc(*name == '-' ? '_' : *name, f);
}

/* One _arguments spec (or two, for --[no-]NAME) of o. */
static void zsh_spec(FILE *f, const struct opt *o)
{
    int negatable = o->type == OPT_BOOL && o->longname && strncmp(o->longname, "no-", 3);
    int value = o->type != OPT_BOOL;
    /* what excludes this option: its names (a repeatable one nothing) */
    struct xp_buf ex = XP_BUF_INIT;
    if (o->shortname)
        xp_buf_printf(&ex, "-%c", o->shortname);
    if (o->longname)
        xp_buf_printf(&ex, "%s--%s", ex.len ? " " : "", o->longname);
    if (negatable)
        xp_buf_printf(&ex, " --no-%s", o->longname);
    fputs("    '", f);
    if (o->type == OPT_LIST)
        fputc('*', f);
    else
        fprintf(f, "(%s)", ex.ptr);
    if (o->shortname && o->longname)
        fprintf(f, "'{-%c%s,--%s%s}'", o->shortname, value ? "+" : "", o->longname,
                value ? "=" : "");
    else if (o->shortname)
        fprintf(f, "-%c%s", o->shortname, value ? "+" : "");
    else
        fprintf(f, "--%s%s", o->longname, value ? "=" : "");
    fputc('[', f);
    zq(f, o->help, "[]");
    fputc(']', f);
    if (value) {
        fputc(':', f);
        zq(f, o->argname ? o->argname : "value", ":");
        enum doc_value k = doc_value_of(o);
        if (k == DOC_V_TEXT)
            fputs(": ", f);
        else
            fprintf(f, ":_xport_values %s", kind_names[k]);
    }
    fputs("' \\\n", f);
    if (negatable) {
        fprintf(f, "    '(%s)--no-%s[turn off: ", ex.ptr, o->longname);
        zq(f, o->help, "[]");
        fputs("]' \\\n", f);
    }
    xp_buf_release(&ex);
}

static void doc_zsh_command(const struct opt *opts, const struct cmd_usage *u, FILE *f)
{
    (void)u;
    zsh_fn_name(f, opt_doc.name);
    fputs("() {\n  _arguments -s -S \\\n", f);
    for (const struct opt *o = opts; o->type != OPT_END; o++)
        if (o->type != OPT_GROUP)
            zsh_spec(f, o);
    fputs("    '(- *)'{-h,--help}'[show this help]' \\\n"
          "    '*:argument:_xport_location'\n}\n\n", f);
}

static void zsh_list(FILE *f, enum doc_value k, const char *suffix)
{
    struct xp_buf b = XP_BUF_INIT;
    words(&b, k, suffix);
    sq(f, b.ptr);
    xp_buf_release(&b);
}

static void zsh_head(FILE *f)
{
    fputs("#compdef xport\n"
          "# zsh completion for xport, printed by `xport --dump-completion zsh` from\n"
          "# the tables that print `xport COMMAND --help` and the adapter table.\n"
          "# Installed as share/zsh/site-functions/_xport; or load it with\n"
          "#   source <(xport --dump-completion zsh)\n\n"
          "_xport_values() {\n"
          "  case $1 in\n"
          "    adapter) compadd -- ${=:-'", f);
    zsh_list(f, DOC_V_ADAPTER, "");
    fputs("'} ;;\n    resource) compadd -- ${=:-'", f);
    zsh_list(f, DOC_V_RESOURCE, "");
    fputs("'} ;;\n    optkey) compadd -S '' -- ${=:-'", f);
    zsh_list(f, DOC_V_OPTKEY, "");
    fputs("'} ;;\n"
          "    dir) _files -/ ;;\n"
          "    file) _files ;;\n"
          "  esac\n"
          "}\n\n"
          "_xport_location() {\n"
          "  compadd -S '' -- ${=:-'", f);
    zsh_list(f, DOC_V_ADAPTER, ":");
    fputs("'}\n  _files\n}\n\n", f);
}

static void zsh_main(FILE *f, const struct xp_cmd *cmds)
{
    fputs("_xport() {\n  local -a cmds\n  cmds=(\n", f);
    for (const struct xp_cmd *c = cmds; c->name; c++) {
        fputs("    '", f);
        zq(f, c->name, ":");
        fputc(':', f);
        sq(f, c->summary);
        fputs("'\n", f);
    }
    fputs("  )\n"
          "  if (( CURRENT == 2 )); then\n"
          "    _describe -t commands 'xport command' cmds\n"
          "    compadd -- --help --version\n"
          "    return\n"
          "  fi\n"
          "  local cmd=$words[2]\n"
          "  shift words\n"
          "  (( CURRENT-- ))\n"
          "  case $cmd in\n", f);
    for (const struct xp_cmd *c = cmds; c->name; c++) {
        fprintf(f, "    %s) ", c->name);
        zsh_fn_name(f, c->name);
        fputs(" ;;\n", f);
    }
    fputs("  esac\n"
          "}\n\n"
          "if [[ $funcstack[1] == _xport ]]; then\n"
          "  _xport \"$@\"\n"
          "else\n"
          "  compdef _xport xport\n"
          "fi\n", f);
}

int doc_completion(FILE *f, const struct xp_cmd *cmds, const char *shell)
{
    int bash = !strcmp(shell, "bash");
    if (bash)
        bash_script(f, cmds);
    else
        zsh_head(f);
    for (const struct xp_cmd *c = cmds; c->name; c++)
        if (doc_run(c, bash ? doc_bash_command : doc_zsh_command))
            return -1;
    if (bash)
        bash_end(f);
    else
        zsh_main(f, cmds);
    return 0;
}
