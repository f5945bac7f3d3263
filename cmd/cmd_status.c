/* xport status DST: the journals of every copy into DST (each shard's
 * and the unsharded one), summed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "opt.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/journal.h"
#include "xport/json.h"
#include "xport/location.h"
#include "xport/numparse.h"
#include "xport/sys/http.h"

struct row {
    char *file;
    int k, n; /* the shard, or 0 */
    struct xp_journal_summary s;
};

/* "STEM[-K-of-N].jsonl" with STEM starting with prefix (exact: STEM is
 * prefix): 1 and the shard (0/0 for none) when name is one of the
 * journals looked for. */
static int journal_name(const char *name, const char *prefix, int exact, int *k, int *n)
{
    size_t len = strlen(name), pl = strlen(prefix);
    *k = *n = 0;
    if (len <= pl + 6 || strncmp(name, prefix, pl) || strcmp(name + len - 6, ".jsonl"))
        return 0;
    len -= 6;
    /* the shard: "-K-of-N" just before .jsonl */
    const char *of = NULL;
    for (const char *p = name + pl; p + 4 <= name + len; p++)
        if (!strncmp(p, "-of-", 4))
            of = p;
    if (!of)
        return !exact || len == pl;
    const char *dash = of;
    while (dash > name + pl && dash[-1] != '-')
        dash--;
    uint64_t kk, nn;
    if (dash == name + pl || xp_parse_u64n(dash, (size_t)(of - dash), &kk) ||
        xp_parse_u64n(of + 4, (size_t)(name + len - of - 4), &nn) || kk < 1 || kk > nn ||
        nn > 1000000)
        return !exact || len == pl; /* a stem that merely has "-of-" in it */
    if (exact && dash != name + pl + 1)
        return 0; /* another file's shard */
    *k = (int)kk;
    *n = (int)nn;
    return 1;
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->s.src, y->s.src);
    if (c)
        return c;
    if (x->n != y->n)
        return x->n - y->n;
    return x->k - y->k;
}

/* -1 when unknown */
static int64_t remaining(const struct xp_journal_summary *s)
{
    if (s->listed < 0)
        return -1;
    int64_t r = s->listed - s->done - s->partial - s->failed;
    return r > 0 ? r : 0;
}

/* The shards of a K-of-N set that have no journal yet, after row i (the
 * last of its source and N). */
static void missing_shards(const struct row *v, size_t first, size_t last, int **out,
                           size_t *nout)
{
    int n = v[first].n;
    *nout = 0;
    *out = NULL;
    if (!n)
        return;
    for (int k = 1; k <= n; k++) {
        int seen = 0;
        for (size_t i = first; i <= last && !seen; i++)
            seen = v[i].k == k;
        if (!seen) {
            *out = xp_realloc(*out, (*nout + 1) * sizeof(int));
            (*out)[(*nout)++] = k;
        }
    }
}

static void print_json(const char *dst, const struct row *v, size_t nv)
{
    struct xp_buf o = XP_BUF_INIT;
    int64_t done = 0, partial = 0, failed = 0, rem = 0;
    int rem_known = 1;
    xp_buf_puts(&o, "{\"status\":{\"destination\":");
    xp_json_put_str(&o, dst, strlen(dst), NULL);
    xp_buf_puts(&o, ",\"journals\":[");
    for (size_t i = 0; i < nv; i++) {
        const struct row *r = &v[i];
        xp_buf_puts(&o, i ? ",{\"file\":" : "{\"file\":");
        xp_json_put_str(&o, r->file, strlen(r->file), NULL);
        xp_buf_puts(&o, ",\"src\":");
        xp_json_put_str(&o, r->s.src, strlen(r->s.src), NULL);
        if (r->n)
            xp_buf_printf(&o, ",\"shard\":{\"k\":%d,\"n\":%d}", r->k, r->n);
        else
            xp_buf_puts(&o, ",\"shard\":null");
        int64_t re = remaining(&r->s);
        xp_buf_printf(&o, ",\"done\":%" PRId64 ",\"partial\":%" PRId64 ",\"failed\":%" PRId64,
                      r->s.done, r->s.partial, r->s.failed);
        if (re >= 0)
            xp_buf_printf(&o, ",\"listed\":%" PRId64 ",\"listedAll\":%" PRId64
                          ",\"remaining\":%" PRId64 "}", r->s.listed, r->s.listed_of, re);
        else
            xp_buf_puts(&o, ",\"listed\":null,\"listedAll\":null,\"remaining\":null}");
        done += r->s.done;
        partial += r->s.partial;
        failed += r->s.failed;
        rem += re > 0 ? re : 0;
        rem_known &= re >= 0;
    }
    xp_buf_puts(&o, "],\"missing\":[");
    int any = 0;
    for (size_t i = 0, j; i < nv; i = j + 1) {
        for (j = i; j + 1 < nv && !strcmp(v[j + 1].s.src, v[i].s.src) && v[j + 1].n == v[i].n;)
            j++;
        int *miss;
        size_t nm;
        missing_shards(v, i, j, &miss, &nm);
        for (size_t m = 0; m < nm; m++) {
            xp_buf_puts(&o, any++ ? ",{\"src\":" : "{\"src\":");
            xp_json_put_str(&o, v[i].s.src, strlen(v[i].s.src), NULL);
            xp_buf_printf(&o, ",\"shard\":{\"k\":%d,\"n\":%d}}", miss[m], v[i].n);
        }
        rem_known &= nm == 0;
        free(miss);
    }
    xp_buf_printf(&o, "],\"total\":{\"done\":%" PRId64 ",\"partial\":%" PRId64
                  ",\"failed\":%" PRId64, done, partial, failed);
    if (rem_known)
        xp_buf_printf(&o, ",\"remaining\":%" PRId64 "}}}\n", rem);
    else
        xp_buf_puts(&o, ",\"remaining\":null}}}\n");
    fputs(o.ptr, stdout);
    xp_buf_release(&o);
}

static void print_plain(const char *dst, const struct row *v, size_t nv)
{
    int64_t done = 0, partial = 0, failed = 0, rem = 0;
    int rem_known = 1;
    printf("journals of %s\n", dst);
    for (size_t i = 0, j; i < nv; i = j + 1) {
        for (j = i; j + 1 < nv && !strcmp(v[j + 1].s.src, v[i].s.src) && v[j + 1].n == v[i].n;)
            j++;
        if (!i || strcmp(v[i - 1].s.src, v[i].s.src))
            printf("from %s\n  %-12s %10s %10s %10s %10s\n", v[i].s.src, "shard", "done",
                   "partial", "failed", "remaining");
        for (size_t x = i; x <= j; x++) {
            const struct row *r = &v[x];
            char label[32], rs[24];
            if (r->n)
                snprintf(label, sizeof(label), "%d/%d", r->k, r->n);
            else
                snprintf(label, sizeof(label), "unsharded");
            int64_t re = remaining(&r->s);
            if (re >= 0)
                snprintf(rs, sizeof(rs), "%" PRId64, re);
            else
                snprintf(rs, sizeof(rs), "?");
            printf("  %-12s %10" PRId64 " %10" PRId64 " %10" PRId64 " %10s\n", label,
                   r->s.done, r->s.partial, r->s.failed, rs);
            done += r->s.done;
            partial += r->s.partial;
            failed += r->s.failed;
            rem += re > 0 ? re : 0;
            rem_known &= re >= 0;
        }
        int *miss;
        size_t nm;
        missing_shards(v, i, j, &miss, &nm);
        for (size_t m = 0; m < nm; m++)
            printf("  %d/%-10d (no journal yet: not started)\n", miss[m], v[i].n);
        rem_known &= nm == 0;
        free(miss);
    }
    char rs[24];
    if (rem_known)
        snprintf(rs, sizeof(rs), "%" PRId64, rem);
    else
        snprintf(rs, sizeof(rs), "?");
    printf("  %-12s %10" PRId64 " %10" PRId64 " %10" PRId64 " %10s\n", "total", done,
           partial, failed, rs);
}

/* 1 when DST's journals are in the state folder, shared with other
 * destinations (see cmd_transfer.c): a remote's, and an archive's (its
 * file is rewritten whole by each run). */
static int in_state_dir(const struct xp_location *dst)
{
    return !xp_location_on_disk(dst) || (dst->adapter && !strcmp(dst->adapter, "archive"));
}

/* The folder and name prefix of DST's journals (see cmd_transfer.c). */
static void where(const struct xp_location *dst, const char *state_file, char **dir,
                  char **prefix)
{
    if (state_file) {
        const char *slash = strrchr(state_file, '/');
        *dir = slash ? xp_strndup(state_file, (size_t)(slash - state_file + (slash == state_file)))
                     : xp_strdup(".");
        const char *base = slash ? slash + 1 : state_file;
        size_t bl = strlen(base);
        if (bl > 6 && !strcmp(base + bl - 6, ".jsonl"))
            bl -= 6;
        *prefix = xp_strndup(base, bl);
    } else if (!in_state_dir(dst)) {
        *dir = xp_path_join(dst->path, ".xport");
        *prefix = xp_strdup("journal-");
    } else {
        *dir = xp_state_dir("journals");
        *prefix = xp_strdup("journal-");
    }
}

/* ---- a destination that keeps state (s3://): its journals, fetched ---- */

struct remote_scan {
    struct xp_adapter *a;
    const char *tmp;
    struct row **v;
    size_t *nv;
    int bad;
};

static int remote_one(void *payload, const char *name)
{
    struct remote_scan *r = payload;
    int k, n;
    if (!journal_name(name, "journal-", 0, &k, &n))
        return 0;
    char *local = xp_path_join(r->tmp, name);
    struct row x = {xp_strdup(name), k, n, {0}};
    int rc = xp_adapter_state_get(r->a, name, local);
    if (!rc)
        rc = xp_journal_summary(local, &x.s);
    unlink(local);
    free(local);
    if (rc) {
        if (rc == XP_ECANCEL || rc == XP_EAUTH)
            return rc;
        fprintf(stderr, "warning: %s\n", xp_error_last()->message);
        xp_error_clear();
        free(x.file);
        r->bad = 1;
        return 0;
    }
    *r->v = xp_realloc(*r->v, (*r->nv + 1) * sizeof(**r->v));
    (*r->v)[(*r->nv)++] = x;
    return 0;
}

/* The journals dst keeps (xp_adapter_state_list), each fetched into a
 * temporary folder and summed. 0, 1 when one could not be read (warned),
 * or an error code after printing it. */
static int remote_rows(struct xp_location *dst, const struct access_args *acc,
                       struct row **v, size_t *nv)
{
    const struct xp_location *locs[1] = {dst};
    const struct xp_adapter_type *types[1];
    struct adapter_options ao;
    if (adapter_types(types, locs, 1) || adapter_options_build(&ao, types, 1, acc, NULL, 0))
        return XP_EINVALID; /* printed */
    struct xp_ctx ctx;
    cmd_ctx_init(&ctx, 0, 0);
    struct xp_http *http = NULL;
    struct cmd_http_opts ho = {0, -1, 0, NULL, NULL, 0, 0, 0};
    struct xp_adapter *a = NULL;
    char *tmp = NULL;
    int rc = cmd_http_new(&http, &ho, &ctx) ? XP_EIO : 0;
    if (!rc && (rc = xp_adapter_open(&a, dst, &ao.o, &ctx)))
        print_error(rc);
    if (!rc)
        rc = xp_tempdir(&tmp, "xport-status");
    struct remote_scan r = {a, tmp, v, nv, 0};
    if (!rc && (rc = xp_adapter_state_list(a, remote_one, &r)))
        print_error(rc);
    if (tmp)
        xp_rm_rf(tmp);
    free(tmp);
    xp_adapter_close(a);
    if (http)
        xp_http_free(http);
    adapter_options_release(&ao, 1);
    return rc ? rc : r.bad;
}

int cmd_status(int argc, char **argv)
{
    int json = 0;
    const char *state_file = NULL;
    struct access_args acc = {0};
    const struct opt opts[] = {
        {OPT_STRING, 0, "state-file", &state_file, "FILE",
         "the journal given to the copies (its -K-of-N shards too), when they had one"},
        {OPT_BOOL, 0, "json", &json, NULL, "print one JSON object"},
        {OPT_LIST, 0, "opt", &acc.opt, "[ADAPTER:]KEY=VALUE",
         "an option of DST's adapter, for a DST that keeps the journals itself "
         "(s3://BUCKET/PREFIX: PREFIX/.xport/)"},
        OPT_END_MARK,
    };
    const struct cmd_usage u = {
        "xport status", "DST",
        "Sum the journals of the copies into DST: for every source and every "
        "shard (--shard K/N) or the unsharded copy, the experiments done, partial "
        "and failed, and those remaining of what the copy's last listing gave it "
        "('?' before a run has listed). Shards with no journal yet are named. "
        "A DST that keeps the journals itself (s3://BUCKET/PREFIX) is asked for "
        "them, from any machine.", NULL};
    const char *pos[1];
    size_t npos;
    int r = opt_parse(opts, &u, argc, argv, pos, 1, &npos);
    if (r)
        return r > 0 ? 0 : XP_EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "error: status needs DST\nusage: %s %s\n", u.name, u.synopsis);
        return XP_EXIT_USAGE;
    }
    struct xp_location dst;
    int rc = xp_location_parse(&dst, pos[0]);
    if (rc) {
        print_error(rc);
        return XP_EXIT_USAGE;
    }
    char *ds = cmd_location_id(&dst), *dir, *prefix;
    where(&dst, state_file, &dir, &prefix);
    char **names = NULL;
    size_t nn = 0, nv = 0;
    struct row *v = NULL;
    int code = XP_EXIT_OK;
    const struct xp_adapter_type *t = NULL;
    if (!state_file && !xp_adapter_find(&t, dst.adapter) && xp_adapter_has_state(t)) {
        rc = remote_rows(&dst, &acc, &v, &nv);
        code = rc < 0 ? xp_exit_code(rc) : rc ? XP_EXIT_ERROR : XP_EXIT_OK;
        free(dir);
        dir = xp_strdup(ds); /* where the journals were looked for */
    } else if (xp_list_dir(&names, &nn, dir) && !xp_is_dir(dir))
        nn = 0, xp_error_clear(); /* no journal yet */
    for (size_t i = 0; i < nn; i++) {
        int k, n;
        if (!journal_name(names[i], prefix, state_file != NULL, &k, &n))
            continue;
        struct row x = {xp_path_join(dir, names[i]), k, n, {0}};
        if (xp_journal_summary(x.file, &x.s)) {
            fprintf(stderr, "warning: %s\n", xp_error_last()->message);
            free(x.file);
            code = XP_EXIT_ERROR;
            continue;
        }
        /* journals of other destinations share the state folder */
        if (in_state_dir(&dst) && !state_file && strcmp(x.s.dst, ds)) {
            free(x.s.src);
            free(x.s.dst);
            free(x.file);
            continue;
        }
        v = xp_realloc(v, (nv + 1) * sizeof(*v));
        v[nv++] = x;
    }
    if (!nv && code == XP_EXIT_OK) {
        fprintf(stderr, "error: no journal of a copy into '%s' (looked in '%s')\n", pos[0],
                dir);
        code = XP_EXIT_ERROR;
    } else if (!nv) {
        /* the error is printed */
    } else {
        qsort(v, nv, sizeof(*v), row_cmp);
        if (json)
            print_json(ds, v, nv);
        else
            print_plain(ds, v, nv);
    }
    for (size_t i = 0; i < nv; i++) {
        free(v[i].file);
        free(v[i].s.src);
        free(v[i].s.dst);
    }
    free(v);
    xp_strv_free(names);
    free(dir);
    free(prefix);
    free(ds);
    xp_location_release(&dst);
    return code;
}
