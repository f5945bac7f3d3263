/* The journal of a copy (include/xport/journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <json-c/linkhash.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/iso8601.h"
#include "xport/journal.h"
#include "xport/json.h"
#include "xport/sysio.h"

/* The state of one experiment. */
struct jstate {
    char *key; /* ws \x1f proj \x1f name; also the table's key */
    char *src, *dst;
    char *note; /* partial: the first item left behind; failed: the error */
    int64_t dropped;
    unsigned mask;
    unsigned char created, done, partial, failed;
};

/* Compaction when the tail since the last one outgrows the state, and is
 * at least this long (so a new journal is not rewritten every few lines). */
#define TAIL_MIN 1000

static void key_of(struct xp_buf *k, const char *ws, const char *proj,
                   const char *name)
{
    xp_buf_reset(k);
    xp_buf_printf(k, "%s\x1f%s\x1f%s", ws ? ws : "", proj ? proj : "", name ? name : "");
}

static void state_free(struct lh_entry *e)
{
    struct jstate *s = (struct jstate *)lh_entry_v(e);
    free(s->key);
    free(s->src);
    free(s->dst);
    free(s->note);
    free(s);
}

static struct lh_table *map_new(void)
{
    return lh_kchar_table_new(64, state_free);
}

static struct jstate *map_get(struct lh_table *m, const char *key, int create)
{
    void *v = NULL;
    if (lh_table_lookup_ex(m, key, &v))
        return v;
    if (!create)
        return NULL;
    struct jstate *s = xp_calloc(1, sizeof(*s));
    s->key = xp_strdup(key);
    lh_table_insert(m, s->key, s);
    return s;
}

static void set_str(char **dst, const char *v)
{
    if (!v)
        return;
    free(*dst);
    *dst = xp_strdup(v);
}

/* One outcome folded into the state (the rules the header describes). */
struct jevent {
    const char *outcome, *src, *dst, *error, *first;
    unsigned mask;
    int64_t dropped;
};

static void fold(struct lh_table *m, const char *key, const struct jevent *ev)
{
    const char *o = ev->outcome;
    if (!o)
        return;
    if (!strcmp(o, "deleted")) {
        lh_table_delete(m, key);
        return;
    }
    struct jstate *s = map_get(m, key, 1);
    set_str(&s->src, ev->src);
    set_str(&s->dst, ev->dst);
    if (!strcmp(o, "copied")) {
        s->created = s->done = 1;
        s->partial = s->failed = 0;
        s->mask = 0;
        s->dropped = 0;
        free(s->note);
        s->note = NULL;
    } else if (!strcmp(o, "partial")) {
        s->created = 1;
        s->done = 0;
        s->partial = 1;
        s->failed = 0;
        s->mask = ev->mask;
        s->dropped = ev->dropped;
        free(s->note);
        s->note = ev->first ? xp_strdup(ev->first) : NULL;
    } else if (!strcmp(o, "skipped")) {
        if (!s->partial)
            s->done = 1;
        s->failed = 0;
    } else if (!strcmp(o, "failed")) {
        if (!s->created && !s->done && !s->partial) {
            s->failed = 1;
            set_str(&s->note, ev->error);
        }
    }
}

static int64_t json_i64(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

/* Fold one parsed line. Returns 1 for a header or run line. */
static int fold_line(struct lh_table *m, struct json_object *o, struct xp_buf *k)
{
    const char *ev = xp_json_str(o, "event");
    if (!ev || strcmp(ev, "experiment"))
        return 1;
    struct jevent e = {xp_json_str(o, "outcome"), xp_json_str(o, "src"),
                       xp_json_str(o, "dst"), xp_json_str(o, "error"),
                       xp_json_str(o, "first"), (unsigned)json_i64(o, "mask"),
                       json_i64(o, "dropped")};
    key_of(k, xp_json_str(o, "workspace"), xp_json_str(o, "project"),
           xp_json_str(o, "name"));
    fold(m, k->ptr, &e);
    return 0;
}

static int check_pair(struct xp_journal *j, struct json_object *o)
{
    const char *s = xp_json_str(o, "src"), *d = xp_json_str(o, "dst");
    if (s && d && !strcmp(s, j->src) && !strcmp(d, j->dst))
        return 0;
    return xp_error_set(XP_EINVALID,
                        "state file '%s' belongs to another copy ('%s' -> '%s'); "
                        "use another --state-file",
                        j->path, s ? s : "?", d ? d : "?");
}

/* A journal read without a pair (xp_journal_summary) takes its header's. */
static int read_pair(struct xp_journal *j, struct json_object *o)
{
    const char *ev = xp_json_str(o, "event");
    int pair = ev && (!strcmp(ev, "journal") || !strcmp(ev, "run"));
    const char *s = pair ? xp_json_str(o, "src") : NULL, *d = pair ? xp_json_str(o, "dst") : NULL;
    j->src = xp_strdup(s ? s : "?"); /* an old journal without a header: unknown */
    j->dst = xp_strdup(d ? d : "?");
    return 0;
}

/* The size of the listing a header or "listed" line records. */
static void note_listed(struct xp_journal *j, struct json_object *o)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, "listed", &v))
        return;
    j->listed = json_object_get_int64(v);
    j->listed_of = json_i64(o, "of");
}

/* Stream the file into m. full: every line is folded; else only what
 * bears on experiments left partial (most lines are not even parsed).
 * *state and *tail get the line counts of the two parts. */
static int load_into(struct xp_journal *j, struct lh_table *m, int full,
                     int64_t *state, int64_t *tail, long *torn_at)
{
    FILE *f = fopen(j->path, "rb");
    *state = *tail = 0;
    if (!f)
        return errno == ENOENT ? 0 : xp_error_set_os(XP_EIO, "cannot read journal '%s'", j->path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0, first = 1;
    int64_t in_state = 0;
    long good = 0;
    struct xp_buf k = XP_BUF_INIT;
    while (!rc && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') {
            /* a torn last line: the write it records never finished */
            if (torn_at)
                *torn_at = good;
            break;
        }
        good += (long)n;
        int parse = full || first || strstr(line, "\"event\":\"listed\"") ||
                    strstr(line, "\"outcome\":\"partial\"") ||
                    (lh_table_length(m) > 0 && (strstr(line, "\"outcome\":\"copied\"") ||
                                                strstr(line, "\"outcome\":\"deleted\"")));
        if (in_state > 0) {
            in_state--;
            (*state)++;
        } else if (!first) {
            (*tail)++;
        }
        struct json_object *o = NULL;
        if (parse && xp_json_parse(&o, line, (size_t)n - 1, "journal") == 0) {
            if (first) {
                const char *ev = xp_json_str(o, "event");
                rc = j->src ? check_pair(j, o) : read_pair(j, o);
                if (ev && !strcmp(ev, "journal")) {
                    in_state = json_i64(o, "state");
                    j->gen = json_i64(o, "gen");
                }
                else
                    (*tail)++;
            }
            if (fold_line(m, o, &k))
                note_listed(j, o);
        } else if (parse) {
            xp_error_clear(); /* a damaged line is ignored, as a torn one */
            if (first)
                (*tail)++;
        }
        json_object_put(o);
        first = 0;
    }
    if (!rc && ferror(f))
        rc = xp_error_set_os(XP_EIO, "cannot read journal '%s'", j->path);
    free(line);
    fclose(f);
    xp_buf_release(&k);
    return rc;
}

static int write_all(int fd, const char *p, size_t len, const char *path)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = xp_sys_write(fd, p + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return xp_error_set_os(XP_EIO, "cannot write journal '%s'", path);
        }
        off += (size_t)n;
    }
    return 0;
}

/* Append one line; sync: fsync it (and any unsynced ones before it). */
static int append_line(struct xp_journal *j, struct xp_buf *line, int sync)
{
    xp_buf_putc(line, '\n');
    int rc = write_all(j->fd, line->ptr, line->len, j->path);
    if (!rc)
        j->unsynced = 1;
    if (!rc && sync && xp_sys_fsync(j->fd) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot fsync journal '%s'", j->path);
    if (!rc && sync)
        j->unsynced = 0;
    if (!rc)
        j->tail_lines++;
    return rc;
}

static void put_field(struct xp_buf *l, const char *k, const char *v)
{
    if (!v)
        return;
    xp_buf_printf(l, ",\"%s\":", k);
    if (xp_json_put_str(l, v, strlen(v), k))
        xp_buf_puts(l, "null");
}

static void put_key(struct xp_buf *l, const char *key)
{
    const char *a = strchr(key, '\x1f'), *b = a ? strchr(a + 1, '\x1f') : NULL;
    if (!b)
        return;
    xp_buf_puts(l, ",\"workspace\":");
    xp_json_put_str(l, key, (size_t)(a - key), "workspace");
    xp_buf_puts(l, ",\"project\":");
    xp_json_put_str(l, a + 1, (size_t)(b - a - 1), "project");
    xp_buf_puts(l, ",\"name\":");
    xp_json_put_str(l, b + 1, strlen(b + 1), "name");
}

/* The one line that stands for a state (folding it gives the state back). */
static void state_line(struct xp_buf *l, const struct jstate *s)
{
    const char *o = s->partial ? "partial"
                    : s->done  ? (s->created ? "copied" : "skipped")
                    : s->failed ? "failed"
                                : NULL;
    if (!o)
        return;
    xp_buf_puts(l, "{\"event\":\"experiment\"");
    put_key(l, s->key);
    put_field(l, "src", s->src);
    put_field(l, "dst", s->dst);
    xp_buf_printf(l, ",\"outcome\":\"%s\"", o);
    if (s->partial) {
        xp_buf_printf(l, ",\"mask\":%u,\"dropped\":%" PRId64, s->mask, s->dropped);
        put_field(l, "first", s->note);
    } else if (s->failed) {
        put_field(l, "error", s->note);
    }
    xp_buf_puts(l, "}\n");
}

static int cmp_state(const void *a, const void *b)
{
    return strcmp((*(struct jstate *const *)a)->key, (*(struct jstate *const *)b)->key);
}

/* Write m as a compacted journal at tmp; *nlines gets its state lines. */
static int write_compacted(struct xp_journal *j, struct lh_table *m, const char *tmp,
                           int64_t *nlines)
{
    size_t n = 0, cap = (size_t)lh_table_length(m);
    struct jstate **v = xp_calloc(cap ? cap : 1, sizeof(*v));
    struct lh_entry *e;
    lh_foreach(m, e) v[n++] = (struct jstate *)lh_entry_v(e);
    qsort(v, n, sizeof(*v), cmp_state);
    struct xp_buf body = XP_BUF_INIT, head = XP_BUF_INIT;
    *nlines = 0;
    for (size_t i = 0; i < n; i++) {
        size_t before = body.len;
        state_line(&body, v[i]);
        *nlines += body.len > before;
    }
    free(v);
    char ts[XP_ISO8601_BUFSZ];
    xp_iso8601_now(ts, 0);
    xp_buf_puts(&head, "{\"event\":\"journal\",\"version\":2");
    put_field(&head, "src", j->src);
    put_field(&head, "dst", j->dst);
    if (j->listed >= 0)
        xp_buf_printf(&head, ",\"listed\":%" PRId64 ",\"of\":%" PRId64, j->listed,
                      j->listed_of);
    xp_buf_printf(&head, ",\"state\":%" PRId64 ",\"gen\":%" PRId64 ",\"time\":\"%s\"}\n",
                  *nlines, j->gen + 1, ts);
    int fd = xp_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;
    if (fd < 0)
        rc = xp_error_set_os(XP_EIO, "cannot create '%s'", tmp);
    if (!rc)
        rc = write_all(fd, head.ptr, head.len, tmp);
    if (!rc)
        rc = write_all(fd, body.ptr ? body.ptr : "", body.len, tmp);
    if (!rc && xp_sys_fsync(fd) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot fsync '%s'", tmp);
    if (fd >= 0 && close(fd) != 0 && !rc)
        rc = xp_error_set_os(XP_EIO, "cannot write '%s'", tmp);
    xp_buf_release(&body);
    xp_buf_release(&head);
    return rc;
}

static int dir_of(char *path_copy)
{
    char *slash = strrchr(path_copy, '/');
    if (!slash)
        return 0;
    if (slash == path_copy)
        slash[1] = '\0';
    else
        *slash = '\0';
    return 1;
}

/* Caller holds j->lock. */
static int compact_locked(struct xp_journal *j)
{
    struct lh_table *m = j->map, *fresh = NULL;
    int64_t st, tl;
    int rc = 0;
    if (!j->full) {
        /* the state is not all in memory: fold the whole file once */
        fresh = map_new();
        rc = load_into(j, fresh, 1, &st, &tl, NULL);
        m = fresh;
    }
    struct xp_buf tmp = XP_BUF_INIT;
    xp_buf_printf(&tmp, "%s.xport-tmp-%ld", j->path, (long)getpid());
    int64_t nlines = 0;
    if (!rc)
        rc = write_compacted(j, m, tmp.ptr, &nlines);
    if (!rc && xp_sys_rename(tmp.ptr, j->path) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot move '%s' into place", tmp.ptr);
    if (rc) {
        unlink(tmp.ptr); /* the old journal is untouched */
    } else {
        char *d = xp_strdup(j->path);
        rc = xp_fsync_dir(dir_of(d) ? d : ".");
        free(d);
        int fd = xp_sys_open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 && !rc)
            rc = xp_error_set_os(XP_EIO, "cannot open journal '%s'", j->path);
        if (fd >= 0) {
            if (j->fd >= 0)
                close(j->fd);
            j->fd = fd;
        }
        j->state_lines = nlines;
        j->tail_lines = 0;
        j->gen++;
        j->unsynced = 0;
        j->compactions++;
    }
    xp_buf_release(&tmp);
    if (fresh)
        lh_table_free(fresh);
    return rc;
}

/* After an append (caller holds j->lock): compact when the tail has
 * outgrown the state. A failure leaves the journal whole as it was, and
 * the next append tries again. */
static void maybe_compact(struct xp_journal *j)
{
    if (j->tail_lines >= TAIL_MIN && j->tail_lines > j->state_lines &&
        compact_locked(j))
        xp_error_clear();
}

/* A copy of src into dst, written atomically (caller holds j->lock). */
static int copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return xp_error_set_os(XP_EIO, "cannot read journal '%s'", src);
    struct xp_afile out;
    int rc = xp_afile_open(&out, dst);
    char buf[1 << 16];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        xp_afile_write(&out, buf, n);
    if (!rc && ferror(in)) {
        xp_afile_abort(&out);
        rc = xp_error_set_os(XP_EIO, "cannot read journal '%s'", src);
    } else if (!rc) {
        rc = xp_afile_commit(&out);
    }
    fclose(in);
    return rc;
}

int xp_journal_compact(struct xp_journal *j, const char *copy_to, int64_t *gen)
{
    pthread_mutex_lock(&j->lock);
    int rc = 0;
    if (j->fd >= 0 && j->tail_lines > 0)
        rc = compact_locked(j);
    if (!rc && j->fd >= 0 && j->unsynced && xp_sys_fsync(j->fd) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot fsync journal '%s'", j->path);
    if (!rc)
        j->unsynced = 0;
    if (!rc && copy_to)
        rc = copy_file(j->path, copy_to);
    if (gen)
        *gen = j->gen;
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int xp_journal_open(struct xp_journal *j, const char *path, const char *src,
                    const char *dst, int flags)
{
    memset(j, 0, sizeof(*j));
    j->fd = -1;
    j->flags = flags;
    j->path = xp_strdup(path);
    j->src = xp_strdup(src);
    j->dst = xp_strdup(dst);
    j->map = map_new();
    j->full = (flags & (XP_JOURNAL_RESUME | XP_JOURNAL_SYNC)) != 0;
    j->listed = j->listed_of = -1;
    pthread_mutex_init(&j->lock, NULL);
    int rc = 0;
    char *dir = xp_strdup(path);
    if (dir_of(dir) && !(flags & XP_JOURNAL_READONLY))
        rc = xp_mkdir_p(dir);
    free(dir);
    if (!rc && !(flags & XP_JOURNAL_READONLY))
        xp_tmp_clean(path); /* a compaction killed before its rename */
    long torn_at = -1;
    if (!rc)
        rc = load_into(j, j->map, j->full, &j->state_lines, &j->tail_lines, &torn_at);
    /* appends go on from a line boundary */
    if (!rc && torn_at >= 0 && !(flags & XP_JOURNAL_READONLY) &&
        truncate(path, (off_t)torn_at) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot repair journal '%s'", path);
    if (!rc && (flags & XP_JOURNAL_RESUME)) {
        struct lh_entry *e;
        lh_foreach(j->map, e) j->loaded += ((struct jstate *)lh_entry_v(e))->done;
    }
    if (!rc && (flags & XP_JOURNAL_READONLY))
        return 0;
    if (!rc) {
        j->fd = xp_sys_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (j->fd < 0)
            rc = xp_error_set_os(XP_EIO, "cannot open state file '%s'", path);
    }
    if (!rc) {
        struct xp_buf l = XP_BUF_INIT;
        char ts[XP_ISO8601_BUFSZ];
        xp_iso8601_now(ts, 0);
        if (j->state_lines == 0 && j->tail_lines == 0) {
            /* a new journal starts with its header */
            xp_buf_puts(&l, "{\"event\":\"journal\",\"version\":2");
            put_field(&l, "src", src);
            put_field(&l, "dst", dst);
            xp_buf_printf(&l, ",\"state\":0,\"gen\":0,\"time\":\"%s\"}", ts);
            rc = append_line(j, &l, 0);
            j->tail_lines = 0;
            xp_buf_reset(&l);
        }
        xp_buf_puts(&l, "{\"event\":\"run\"");
        put_field(&l, "src", src);
        put_field(&l, "dst", dst);
        xp_buf_printf(&l, ",\"time\":\"%s\",\"resume\":%s}", ts,
                      (flags & XP_JOURNAL_RESUME) ? "true" : "false");
        if (!rc)
            rc = append_line(j, &l, 0);
        xp_buf_release(&l);
    }
    if (rc) {
        if (j->fd >= 0)
            close(j->fd);
        j->fd = -1; /* so that close does not compact */
        xp_journal_close(j);
    }
    return rc;
}

int xp_journal_close(struct xp_journal *j)
{
    int rc = 0;
    if (j->fd >= 0 && j->tail_lines > 0 &&
        (j->full || j->tail_lines > j->state_lines))
        rc = compact_locked(j);
    if (j->fd >= 0 && j->unsynced && xp_sys_fsync(j->fd) != 0 && !rc)
        rc = xp_error_set_os(XP_EIO, "cannot fsync journal '%s'", j->path);
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    if (j->map)
        lh_table_free(j->map);
    j->map = NULL;
    free(j->path);
    free(j->src);
    free(j->dst);
    j->path = j->src = j->dst = NULL;
    pthread_mutex_destroy(&j->lock);
    return rc;
}

static struct jstate *lookup(struct xp_journal *j, struct xp_buf *k, const char *ws,
                             const char *proj, const char *name)
{
    key_of(k, ws, proj, name);
    return map_get(j->map, k->ptr, 0);
}

int xp_journal_done(struct xp_journal *j, const char *ws, const char *proj,
                    const char *name)
{
    struct xp_buf k = XP_BUF_INIT;
    pthread_mutex_lock(&j->lock);
    struct jstate *s = lookup(j, &k, ws, proj, name);
    int done = s && s->done && !s->partial;
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&k);
    return done;
}

int xp_journal_created(struct xp_journal *j, const char *ws, const char *proj,
                       const char *name)
{
    struct xp_buf k = XP_BUF_INIT;
    pthread_mutex_lock(&j->lock);
    struct jstate *s = lookup(j, &k, ws, proj, name);
    int c = s && s->created;
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&k);
    return c;
}

int xp_journal_partial(struct xp_journal *j, const char *ws, const char *proj,
                       const char *name, unsigned *mask, int64_t *dropped,
                       char *first, size_t cap)
{
    struct xp_buf k = XP_BUF_INIT;
    pthread_mutex_lock(&j->lock);
    struct jstate *s = lookup(j, &k, ws, proj, name);
    int p = s && s->partial;
    if (p) {
        *mask = s->mask;
        *dropped = s->dropped;
        if (cap)
            snprintf(first, cap, "%s", s->note ? s->note : "");
    }
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&k);
    return p;
}

static int record(struct xp_journal *j, const char *ws, const char *proj,
                  const char *name, const struct jevent *ev)
{
    struct xp_buf l = XP_BUF_INIT, k = XP_BUF_INIT;
    char ts[XP_ISO8601_BUFSZ];
    xp_iso8601_now(ts, 0);
    key_of(&k, ws, proj, name);
    xp_buf_printf(&l, "{\"event\":\"experiment\",\"time\":\"%s\"", ts);
    put_key(&l, k.ptr);
    put_field(&l, "src", ev->src);
    put_field(&l, "dst", ev->dst);
    put_field(&l, "outcome", ev->outcome);
    put_field(&l, "error", ev->error);
    if (!strcmp(ev->outcome, "partial")) {
        xp_buf_printf(&l, ",\"mask\":%u,\"dropped\":%" PRId64, ev->mask, ev->dropped);
        put_field(&l, "first", ev->first);
    }
    xp_buf_putc(&l, '}');
    /* what a later run decides on is durable before the work counts */
    int sync = strcmp(ev->outcome, "skipped") && strcmp(ev->outcome, "failed");
    pthread_mutex_lock(&j->lock);
    int rc = j->fd >= 0 ? append_line(j, &l, sync) : 0;
    if (!rc) {
        /* without the full state, keep only what bears on partial ones */
        if (j->full || !strcmp(ev->outcome, "partial") || map_get(j->map, k.ptr, 0))
            fold(j->map, k.ptr, ev);
        if (j->fd >= 0)
            maybe_compact(j);
    }
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&l);
    xp_buf_release(&k);
    return rc;
}

int xp_journal_record(struct xp_journal *j, const char *ws, const char *proj,
                      const char *name, const char *src_key, const char *dst_id,
                      const char *outcome, const char *error)
{
    struct jevent ev = {outcome, src_key, dst_id, error, NULL, 0, 0};
    return record(j, ws, proj, name, &ev);
}

int xp_journal_record_partial(struct xp_journal *j, const char *ws, const char *proj,
                              const char *name, const char *src_key,
                              const char *dst_id, unsigned mask, int64_t dropped,
                              const char *first)
{
    struct jevent ev = {"partial", src_key, dst_id, NULL, first, mask, dropped};
    return record(j, ws, proj, name, &ev);
}

int xp_journal_listed(struct xp_journal *j, int64_t listed, int64_t of)
{
    struct xp_buf l = XP_BUF_INIT;
    char ts[XP_ISO8601_BUFSZ];
    xp_iso8601_now(ts, 0);
    xp_buf_printf(&l, "{\"event\":\"listed\",\"listed\":%" PRId64 ",\"of\":%" PRId64
                  ",\"time\":\"%s\"}", listed, of, ts);
    pthread_mutex_lock(&j->lock);
    j->listed = listed;
    j->listed_of = of;
    int rc = j->fd >= 0 ? append_line(j, &l, 0) : 0;
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&l);
    return rc;
}

int xp_journal_summary(const char *path, struct xp_journal_summary *out)
{
    struct xp_journal j;
    memset(&j, 0, sizeof(j));
    memset(out, 0, sizeof(*out));
    j.path = (char *)path;
    j.listed = j.listed_of = -1;
    struct lh_table *m = map_new();
    int64_t st, tl;
    int rc = load_into(&j, m, 1, &st, &tl, NULL);
    if (!rc && !j.src)
        rc = xp_error_set(XP_EINVALID, "journal '%s' is empty", path);
    struct lh_entry *e;
    if (!rc)
        lh_foreach(m, e) {
            const struct jstate *s = (const struct jstate *)lh_entry_v(e);
            if (s->partial)
                out->partial++;
            else if (s->done)
                out->done++;
            else if (s->failed)
                out->failed++;
        }
    lh_table_free(m);
    out->src = j.src;
    out->dst = j.dst;
    if (rc) {
        free(j.src);
        free(j.dst);
        out->src = out->dst = NULL;
    }
    out->listed = j.listed;
    out->listed_of = j.listed_of;
    return rc;
}

char *xp_state_dir(const char *sub)
{
    struct xp_buf b = XP_BUF_INIT;
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg == '/')
        xp_buf_printf(&b, "%s/xport", xdg);
    else
        xp_buf_printf(&b, "%s/.local/state/xport", home && *home ? home : "/tmp");
    if (sub && *sub)
        xp_buf_printf(&b, "/%s", sub);
    return xp_buf_detach(&b);
}

char *xp_journal_state_path(const char *src, const char *dst)
{
    char hex[65];
    struct xp_buf pair = XP_BUF_INIT;
    xp_buf_printf(&pair, "%s\n%s", src, dst);
    xp_sha256_hex(hex, pair.ptr, pair.len);
    xp_buf_release(&pair);
    char *dir = xp_state_dir("journals");
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/journal-%.12s.jsonl", dir, hex);
    free(dir);
    return xp_buf_detach(&p);
}
