/* xp_copy: the one pipeline behind download, upload and copy. It lists the
 * source's experiments, and for each pulls records from a reader and pushes
 * them into a sink, enforcing record order and the resource filter, with
 * several experiments in flight at once. Both adapters are borrowed. */
#ifndef XPORT_COPY_H
#define XPORT_COPY_H

#include <stdint.h>

#include "sys/adapter.h"
#include "walk.h" /* xp_reader_check_order */

/* One experiment in flight, as a progress callback sees it. */
struct xp_copy_active {
    const char *workspace, *project, *name; /* valid during the callback */
    int64_t series, points, logs, files, bytes;
    /* How far its reader is, in the reader's own unit (bytes of a file,
     * points of the experiment): total 0 when the reader cannot say. */
    int64_t done, total;
};
#define XP_COPY_ACTIVE_MAX 16

struct xp_copy_stats {
    int64_t experiments_listed; /* under --shard, those of this shard */
    int64_t listed_all;         /* listed by the source, every shard's */
    int64_t experiments_done; /* finished, whatever the outcome */
    int64_t copied, skipped, failed;
    /* cut short by SIGINT/SIGTERM: neither done nor failed, --resume
     * finishes them (the journal records nothing for them) */
    int64_t interrupted;
    int64_t partial; /* written with items left behind (now or earlier) */
    /* in progress callbacks these include what the experiments in flight
     * have moved so far, batch by batch */
    int64_t series, points, logs, files, bytes, documents;
    int64_t deleted;
    /* progress callbacks only: the experiments in flight (the first
     * XP_COPY_ACTIVE_MAX of nactive) */
    int nactive;
    struct xp_copy_active active[XP_COPY_ACTIVE_MAX];
};

enum xp_exp_outcome {
    XP_EXP_COPIED = 1,
    XP_EXP_SKIPPED,
    XP_EXP_FAILED,
    XP_EXP_PLANNED,
    XP_EXP_DELETED, /* sync --delete (or, in a dry run, would be) */
    /* written, but with items the destination could not hold (message
     * names them): in this run, or in an earlier one the journal records,
     * until --overwrite (or an --ignore that leaves them out) makes it
     * whole */
    XP_EXP_PARTIAL,
    /* cut short by SIGINT/SIGTERM (code XP_ECANCEL): not a failure of the
     * experiment; --resume finishes it */
    XP_EXP_INTERRUPTED
};

/* What "already there" means (cometx's --sync levels). */
enum xp_sync {
    XP_SYNC_EXPERIMENT = 0, /* skip experiments the destination has */
    XP_SYNC_PROJECT,        /* skip whole projects the destination has */
    XP_SYNC_WORKSPACE,      /* skip whole workspaces the destination has */
    XP_SYNC_ALL             /* compare experiments; rewrite those that differ */
};

/* Reported once per experiment (serialised: never two at a time). */
struct xp_exp_result {
    const char *workspace, *project, *name;
    enum xp_exp_outcome outcome;
    int code;             /* XP_E* when failed */
    const char *message;  /* when failed */
    int64_t series, points, logs, files, bytes;
    int64_t items_resumed; /* series/files kept from an interrupted attempt */
    const char *note;      /* e.g. "done in an earlier run", or NULL */
};

struct xp_journal;

struct xp_copy_opts {
    unsigned resources; /* enum xp_resource mask; 0 means all */
    int overwrite;
    int dry_run;        /* read and count, write nothing (dst may be NULL) */
    int jobs;           /* experiments in parallel, >= 1 */
    int resume;         /* skip what the journal says is done; reuse items */
    struct xp_journal *journal; /* or NULL */
    enum xp_sync sync;
    /* sync --delete: after a pass without failures, remove destination
     * experiments this journal shows xport created, that the source no
     * longer has and that `scope` selects. Needs a journal. */
    int delete_missing;
    const struct xp_location *scope; /* the source (--shard: its path) */
    /* The destination location's workspace and project (NULL: the
     * source's own): where the destination puts each experiment, so that
     * the sync modes look for it there. */
    const char *dst_workspace, *dst_project;
    /* --shard K/N: only the experiments xp_shard_of (xport/shard.h) puts
     * in shard shard_k of shard_n; shard_n 0 or 1: all */
    int shard_k, shard_n;
    int no_readahead; /* read on the copying thread only (XPORT_NO_READAHEAD) */
    /* called about every 200 ms from the calling thread, and once at the end */
    void (*progress)(void *payload, const struct xp_copy_stats *st, int final);
    void (*experiment_done)(void *payload, const struct xp_exp_result *r);
    void *payload;
};

/* Returns 0 when every experiment was copied or skipped; XP_ECANCEL when
 * interrupted; XP_EAUTH when credentials were refused; otherwise the code of
 * the first failure (stats tell how many failed, how many are partial and
 * how many did not). A listing that fails part-way still copies what it
 * listed. With resume, an experiment the journal has as done counts as
 * done only while the destination (when it can list) still has it. */
int xp_copy(struct xp_adapter *src, struct xp_adapter *dst,
            const struct xp_copy_opts *opts, struct xp_copy_stats *stats);


#endif
