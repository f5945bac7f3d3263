/* The index of an archive holding an xport layout: one pass over its
 * headers (bodies skipped, small JSON documents kept) that refuses what
 * could lead a reader outside the layout, and the lookups the layout
 * reader's file access makes on it (names, sizes, folder listings). */
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/sys/adapter.h"

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

void *arc_utf8_enter(void)
{
    pthread_once(&utf8_once, utf8_init);
    return utf8_locale ? (void *)uselocale(utf8_locale) : NULL;
}

void arc_utf8_leave(void *old)
{
    if (old)
        uselocale((locale_t)old);
}

int arc_read_open(struct archive **out, const char *path)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
        int rc = xp_error_set(XP_EINVALID, "cannot open archive '%s': %s", path,
                              archive_error_string(a) ? archive_error_string(a)
                                                      : "unknown error");
        archive_read_free(a);
        *out = NULL;
        return rc;
    }
    *out = a;
    return 0;
}

/* name made relative and checked: a leading "./" and a trailing '/' are
 * dropped; absolute paths, "..", "." and empty segments are refused.
 * NULL (error set) when refused; "" for the archive's own top folder. */
static char *clean_name(const char *raw, const char *path, const char *what)
{
    while (raw[0] == '.' && raw[1] == '/')
        raw += 2;
    if (raw[0] == '/') {
        xp_error_set(XP_EINVALID, "%s '%s' in '%s' has an absolute path", what, raw, path);
        return NULL;
    }
    char *s = xp_strdup(raw);
    size_t len = strlen(s);
    while (len && s[len - 1] == '/')
        s[--len] = '\0';
    if (!strcmp(s, "."))
        s[0] = '\0';
    for (char *seg = s; *s && seg;) {
        char *e = strchr(seg, '/');
        size_t n = e ? (size_t)(e - seg) : strlen(seg);
        if (n == 2 && !strncmp(seg, "..", 2)) {
            xp_error_set(XP_EINVALID, "%s '%s' in '%s' points outside the archive's root",
                         what, raw, path);
            free(s);
            return NULL;
        }
        seg = e ? e + 1 : NULL;
    }
    if (*s && !xp_relpath_safe(s)) {
        xp_error_set(XP_EINVALID, "%s '%s' in '%s' has an unsafe path", what, raw, path);
        free(s);
        return NULL;
    }
    return s;
}

/* A symbolic link's target, from the folder of the link, kept below the
 * root; NULL (error set) when it leads out. */
static char *link_target(const char *member, const char *target, const char *path)
{
    if (target[0] == '/') {
        xp_error_set(XP_EINVALID, "link '%s' in '%s' points outside the archive's root "
                     "('%s')", member, path, target);
        return NULL;
    }
    struct xp_buf b = XP_BUF_INIT;
    const char *slash = strrchr(member, '/');
    if (slash)
        xp_buf_put(&b, member, (size_t)(slash - member));
    const char *s = target;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && !strncmp(s, "..", 2)) {
            char *up = strrchr(b.ptr, '/');
            if (!b.len) {
                xp_error_set(XP_EINVALID, "link '%s' in '%s' points outside the "
                             "archive's root ('%s')", member, path, target);
                xp_buf_release(&b);
                return NULL;
            }
            xp_buf_setlen(&b, up ? (size_t)(up - b.ptr) : 0);
        } else if (n && !(n == 1 && *s == '.')) {
            if (b.len)
                xp_buf_putc(&b, '/');
            xp_buf_put(&b, s, n);
        }
        s = e ? e + 1 : s + n;
    }
    return xp_buf_detach(&b);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int member_cmp(const void *a, const void *b)
{
    return strcmp(((const struct arc_member *)a)->name, ((const struct arc_member *)b)->name);
}

void arc_index_free(struct arc_index *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++) {
        free(x->m[i].name);
        free(x->m[i].link);
        free(x->m[i].doc);
    }
    free(x->m);
    free(x->path);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static int is_json(const char *name)
{
    size_t n = strlen(name);
    return n >= 5 && !strcmp(name + n - 5, ".json");
}

/* One header: checked, and added to x (its small JSON body read). */
static int add_entry(struct arc_index *x, struct archive *a, struct archive_entry *e,
                     size_t ordinal, size_t *cap, size_t *docs)
{
    const char *raw = archive_entry_pathname_utf8(e);
    if (!raw)
        raw = archive_entry_pathname(e);
    if (!raw)
        return xp_error_set(XP_EINVALID, "member %zu of '%s' has no name", ordinal, x->path);
    char *name = clean_name(raw, x->path, "member");
    if (!name)
        return XP_EINVALID;
    mode_t type = archive_entry_filetype(e);
    const char *hard = archive_entry_hardlink_utf8(e), *sym = archive_entry_symlink_utf8(e);
    if (!hard)
        hard = archive_entry_hardlink(e);
    if (!sym)
        sym = archive_entry_symlink(e);
    char *link = NULL;
    int rc = 0;
    if (hard) {
        if (!(link = clean_name(hard, x->path, "link target of")))
            rc = XP_EINVALID;
    } else if (type == AE_IFLNK) {
        if (!sym)
            rc = xp_error_set(XP_EINVALID, "link '%s' in '%s' has no target", raw, x->path);
        else if (!(link = link_target(name, sym, x->path)))
            rc = XP_EINVALID;
    } else if (type != AE_IFREG && type != AE_IFDIR) {
        rc = xp_error_set(XP_EINVALID, "member '%s' of '%s' is a device, fifo or socket",
                          raw, x->path);
    }
    if (rc || !*name) {
        free(name);
        free(link);
        return rc;
    }
    if (x->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        x->m = xp_realloc(x->m, *cap * sizeof(*x->m));
    }
    struct arc_member *m = &x->m[x->n++];
    memset(m, 0, sizeof(*m));
    m->name = name;
    m->link = link;
    m->ordinal = ordinal;
    m->is_dir = type == AE_IFDIR && !link;
    m->size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (type == AE_IFREG && !link && is_json(name) && m->size <= ARC_DOC_MAX &&
        *docs + (size_t)m->size <= ARC_DOCS_TOTAL) {
        m->doc = xp_malloc((size_t)m->size + 1);
        la_ssize_t k = 0, got = 0;
        while (got < m->size &&
               (k = archive_read_data(a, m->doc + got, (size_t)(m->size - got))) > 0)
            got += k;
        if (k < 0 || got != m->size)
            return xp_error_set(XP_EINVALID, "cannot read '%s' in '%s': %s", name, x->path,
                                k < 0 && archive_error_string(a) ? archive_error_string(a)
                                                                  : "truncated");
        m->doc[m->size] = '\0';
        *docs += (size_t)m->size;
    }
    return 0;
}

/* The layout's root: the top when xport.json is there, else the one top
 * folder every member is under when it holds xport.json (`tar czf x.tgz
 * export/`): its name is then cut from every member. */
static int find_root(struct arc_index *x)
{
    if (arc_find(x, "xport.json"))
        return 0;
    const char *first = x->n ? x->m[0].name : "";
    const char *slash = strchr(first, '/');
    size_t dl = slash ? (size_t)(slash - first) : strlen(first);
    for (size_t i = 0; i < x->n; i++)
        if (strncmp(x->m[i].name, first, dl) || (x->m[i].name[dl] && x->m[i].name[dl] != '/'))
            goto none;
    struct xp_buf top = XP_BUF_INIT;
    xp_buf_put(&top, first, dl);
    xp_buf_puts(&top, "/xport.json");
    int have = arc_find(x, top.ptr) != NULL;
    xp_buf_release(&top);
    if (!have)
        goto none;
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++) {
        struct arc_member *m = &x->m[i];
        if (!m->name[dl]) { /* the top folder itself */
            free(m->name);
            free(m->link);
            free(m->doc);
            continue;
        }
        memmove(m->name, m->name + dl + 1, strlen(m->name + dl + 1) + 1);
        if (m->link && !strncmp(m->link, first, dl) && m->link[dl] == '/')
            memmove(m->link, m->link + dl + 1, strlen(m->link + dl + 1) + 1);
        else if (m->link)
            return xp_error_set(XP_EINVALID, "link '%s' in '%s' points outside the layout",
                                m->name, x->path);
        x->m[k++] = *m;
    }
    x->n = k;
    return 0;
none:
    return xp_error_set(XP_EINVALID, "'%s' holds no xport layout (no xport.json at its "
                        "top or in its one top folder)", x->path);
}

/* Links become aliases of the file they name, which must be in the archive. */
static int resolve_links(struct arc_index *x)
{
    for (size_t i = 0; i < x->n; i++) {
        struct arc_member *m = &x->m[i];
        m->data = i;
        if (!m->link)
            continue;
        struct arc_member key = {.name = m->link};
        struct arc_member *t = bsearch(&key, x->m, x->n, sizeof(*x->m), member_cmp);
        if (!t || t->link || t->is_dir)
            return xp_error_set(XP_EINVALID, "link '%s' in '%s' points to '%s', which is "
                                "not a file in the archive", m->name, x->path, m->link);
        m->data = (size_t)(t - x->m);
        m->size = t->size;
    }
    return 0;
}

int arc_index_open(struct arc_index **out, const char *path, struct xp_ctx *ctx)
{
    *out = NULL;
    struct archive *a;
    int rc = arc_read_open(&a, path);
    if (rc)
        return rc;
    struct arc_index *x = xp_calloc(1, sizeof(*x));
    x->path = xp_strdup(path);
    x->ctx = ctx;
    pthread_mutex_init(&x->lock, NULL);
    size_t cap = 0, docs = 0, ordinal = 0;
    struct archive_entry *e;
    int r;
    void *loc = arc_utf8_enter();
    while (!rc && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r == ARCHIVE_WARN)
            xp_ctx_warn(ctx, "'%s': %s", path, archive_error_string(a));
        else if (r != ARCHIVE_OK) {
            rc = xp_error_set(XP_EINVALID, "cannot read archive '%s': %s", path,
                              archive_error_string(a) ? archive_error_string(a)
                                                      : "corrupt or truncated");
            break;
        }
        rc = add_entry(x, a, e, ordinal++, &cap, &docs);
        if (!rc && archive_read_data_skip(a) != ARCHIVE_OK)
            rc = xp_error_set(XP_EINVALID, "cannot read archive '%s': %s", path,
                              archive_error_string(a) ? archive_error_string(a)
                                                      : "corrupt or truncated");
        if (!rc && xp_ctx_cancelled(ctx))
            rc = xp_error_set(XP_ECANCEL, "interrupted");
    }
    archive_read_free(a);
    arc_utf8_leave(loc);
    if (!rc) {
        qsort(x->m, x->n, sizeof(*x->m), member_cmp);
        for (size_t i = 1; i < x->n && !rc; i++)
            if (!strcmp(x->m[i - 1].name, x->m[i].name) && !x->m[i].is_dir)
                rc = xp_error_set(XP_EINVALID, "'%s' holds '%s' twice", path, x->m[i].name);
    }
    if (!rc)
        rc = find_root(x);
    if (!rc)
        rc = resolve_links(x);
    if (rc) {
        arc_index_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

const struct arc_member *arc_find(const struct arc_index *x, const char *name)
{
    struct arc_member key = {.name = (char *)name};
    const struct arc_member *m = bsearch(&key, x->m, x->n, sizeof(*x->m), member_cmp);
    return m && !m->is_dir ? m : NULL;
}

/* First member whose name is >= s. */
static size_t lower_bound(const struct arc_index *x, const char *s)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->m[mid].name, s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int arc_is_dir(const struct arc_index *x, const char *name)
{
    if (!*name)
        return 1;
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/", name);
    size_t i = lower_bound(x, name);
    int yes = 0;
    for (; i < x->n && !yes; i++) {
        if (!strcmp(x->m[i].name, name)) {
            yes = x->m[i].is_dir;
            continue;
        }
        /* "a/b" sorts after "a-c" but before "a0": scan past siblings */
        if (strncmp(x->m[i].name, name, strlen(name)))
            break;
        yes = !strncmp(x->m[i].name, p.ptr, p.len);
    }
    xp_buf_release(&p);
    return yes;
}

int arc_list(const struct arc_index *x, const char *name, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!arc_is_dir(x, name))
        return xp_error_set(XP_ENOTFOUND, "no folder '%s' in '%s'", name, x->path);
    struct xp_buf p = XP_BUF_INIT;
    if (*name)
        xp_buf_printf(&p, "%s/", name);
    size_t cap = 16, cnt = 0;
    char **v = xp_malloc(cap * sizeof(*v));
    for (size_t i = lower_bound(x, p.ptr); i < x->n; i++) {
        const char *s = x->m[i].name;
        if (strncmp(s, p.ptr, p.len))
            break;
        s += p.len;
        if (!*s)
            continue;
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        /* a child's members need not be next to each other ("c", "c-d",
         * "c/x" sort so): collect, sort, keep each name once */
        if (cnt && strlen(v[cnt - 1]) == len && !strncmp(v[cnt - 1], s, len))
            continue;
        if (cnt + 2 > cap) {
            cap *= 2;
            v = xp_realloc(v, cap * sizeof(*v));
        }
        v[cnt++] = xp_strndup(s, len);
    }
    xp_buf_release(&p);
    qsort(v, cnt, sizeof(*v), str_cmp);
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (k && !strcmp(v[k - 1], v[i]))
            free(v[i]);
        else
            v[k++] = v[i];
    }
    cnt = k;
    v[cnt] = NULL;
    *out = v;
    *n = cnt;
    return 0;
}
