/* The journal of a copy into a destination that keeps state
 * (xp_adapter_has_state: s3://BUCKET/PREFIX), kept there so that every
 * machine finds it: fetched and adopted before the run opens its local
 * working copy (a cache in the state folder), pushed after each
 * compaction, at most every "journal-interval" seconds while it grows,
 * soon after an experiment ends partial or failed, and at the end. The
 * order of the two copies is the generation rule of xport/journal.h. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/journal.h"
#include "xport/numparse.h"

#define DEFAULT_INTERVAL 30
#define RETRY_MIN 10

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "PATH.xport-tmp-PID-SUFFIX" beside path: what a run killed before it
 * removed it leaves is removed by the next xp_journal_open (xp_tmp_clean). */
static char *beside(const char *path, const char *suffix)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s.xport-tmp-%ld-%s", path, (long)getpid(), suffix);
    return xp_buf_detach(&b);
}

/* S of xport/journal.h: the generation last stored at the destination or
 * taken from it, kept beside the local copy as PATH.stored; -1 unknown. */
static int64_t stored_get(const struct journal_remote *r)
{
    struct xp_buf b = XP_BUF_INIT;
    int64_t g = -1;
    if (xp_read_file(&b, r->stored, 64) || !b.len || xp_parse_i64n(b.ptr, b.len, &g) ||
        g < 0)
        g = -1;
    xp_error_clear();
    xp_buf_release(&b);
    return g;
}

/* Without it the next run falls back on comparing generations. */
static void stored_set(const struct journal_remote *r, int64_t g)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", (long long)g);
    if (xp_write_file_atomic(r->stored, num, (size_t)n))
        xp_error_clear();
}

int journal_remote_fetch(struct journal_remote *r, struct xp_adapter *dst,
                         const char *path, const char *name,
                         const struct xp_options *opts)
{
    memset(r, 0, sizeof(*r));
    if (!dst || !xp_adapter_has_state(dst->type))
        return 0;
    long iv = DEFAULT_INTERVAL;
    int rc = xp_option_find(dst->type, "journal-interval")
                 ? xp_option_int(dst->type, opts, "journal-interval", DEFAULT_INTERVAL, &iv)
                 : 0;
    if (rc)
        return rc;
    r->dst = dst;
    r->name = xp_strdup(name);
    r->path = xp_strdup(path);
    r->snap = beside(path, "push");
    struct xp_buf sp = XP_BUF_INIT;
    xp_buf_printf(&sp, "%s.stored", path);
    r->stored = xp_buf_detach(&sp);
    r->interval = iv;
    char *dir = xp_strdup(path);
    char *ds = strrchr(dir, '/');
    if (ds && ds != dir)
        *ds = '\0';
    rc = ds && ds != dir ? xp_mkdir_p(dir) : 0;
    free(dir);
    char *fetched = beside(path, "fetch");
    if (!rc)
        rc = xp_adapter_state_get(dst, r->name, fetched);
    if (rc == XP_ENOTFOUND) {
        /* no copy there yet (the first push makes one): nothing of the
         * local copy was stored, as if stored at generation 0 */
        rc = 0;
        xp_error_clear();
        stored_set(r, 0);
    } else if (!rc) {
        int took = 0;
        int64_t g = stored_get(r);
        rc = xp_journal_adopt(path, fetched, &g, &took);
        if (!rc)
            stored_set(r, g);
        if (rc) {
            fprintf(stderr, "warning: %s; the journal of this machine is used\n",
                    xp_error_last()->message);
            xp_error_clear();
            rc = 0;
        }
    }
    unlink(fetched);
    free(fetched);
    return rc;
}

void journal_remote_attach(struct journal_remote *r, struct xp_journal *j)
{
    if (!r->dst)
        return;
    r->j = j;
    r->last = now_s();
    pthread_mutex_lock(&j->lock);
    r->pushed_compactions = j->compactions;
    pthread_mutex_unlock(&j->lock);
}

static int push(struct journal_remote *r)
{
    int64_t gen = -1;
    int rc = xp_journal_compact(r->j, r->snap, &gen);
    if (!rc)
        rc = xp_adapter_state_put(r->dst, r->name, r->snap);
    if (!rc)
        stored_set(r, gen);
    unlink(r->snap);
    pthread_mutex_lock(&r->j->lock);
    r->pushed_compactions = r->j->compactions;
    pthread_mutex_unlock(&r->j->lock);
    r->last = now_s();
    atomic_store(&r->urgent, 0);
    return rc;
}

void journal_remote_note(struct journal_remote *r, const struct xp_exp_result *res)
{
    if (r->j && (res->outcome == XP_EXP_PARTIAL || res->outcome == XP_EXP_FAILED))
        atomic_store(&r->urgent, 1);
}

void journal_remote_tick(struct journal_remote *r)
{
    if (!r->j)
        return;
    pthread_mutex_lock(&r->j->lock);
    int grew = r->j->tail_lines > 0, compacted = r->j->compactions != r->pushed_compactions;
    pthread_mutex_unlock(&r->j->lock);
    double now = now_s();
    if (now < r->retry_at ||
        (!compacted && !(grew && (atomic_load(&r->urgent) || now - r->last >= r->interval))))
        return;
    if (push(r)) {
        /* tried again after the interval (at least RETRY_MIN s); the run
         * goes on, and the push at the end decides */
        r->retry_at = now_s() + (r->interval > RETRY_MIN ? r->interval : RETRY_MIN);
        fprintf(stderr, "warning: the journal was not stored at the destination: %s "
                        "(tried again later)\n", xp_error_last()->message);
        xp_error_clear();
    }
}

int journal_remote_finish(struct journal_remote *r)
{
    if (!r->j)
        return 0;
    /* a run stopped by SIGINT/SIGTERM still stores what it recorded; a
     * second signal stops the push */
    sig_atomic_t sig = xp_cmd_cancel;
    xp_cmd_cancel = 0;
    int rc = push(r);
    if (!xp_cmd_cancel)
        xp_cmd_cancel = sig;
    if (rc)
        fprintf(stderr, "error: the journal of this run was not stored at the "
                        "destination: %s; it is kept in '%s' (another machine's "
                        "--resume and 'xport status' do not see this run until a "
                        "run from this machine stores it)\n",
                xp_error_last()->message, r->path);
    r->j = NULL;
    return rc;
}

void journal_remote_release(struct journal_remote *r)
{
    free(r->name);
    free(r->path);
    free(r->snap);
    free(r->stored);
    memset(r, 0, sizeof(*r));
}
