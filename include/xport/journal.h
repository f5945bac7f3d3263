/* The journal of a copy: what xport knows about each experiment of one
 * source -> destination pair (done, created by xport, left partial), kept
 * in a JSONL file that survives kill -9 and stays as small as the state it
 * describes.
 *
 * The file is a header line {"event":"journal","version":2,...,"state":N},
 * N lines with the state of one experiment each, then a tail of lines
 * appended since (a "run" line per run, then one outcome per experiment).
 * Outcome lines that decide something later (copied, partial, deleted) are
 * fsynced before the work they record counts as done; skipped and failed
 * lines are only written. Compaction writes the state of every experiment
 * to a new file, fsyncs it and renames it over the old one (a torn
 * compaction leaves the old file whole); it runs when a run ends, and
 * mid-run when the tail has outgrown the state. A torn or damaged line is
 * ignored when loading. Older journals (no header) load the same way.
 *
 * The header's "gen" is the journal's generation: 0 for a new journal,
 * one more at each compaction. It orders two copies of one journal kept
 * in two places: a destination that keeps state (xp_adapter_state_*) and
 * each machine's working copy (cmd/journal_remote.c), which also
 * remembers S, the generation it last stored there or took from there
 * (0 when the destination had none: nothing local was stored).
 * xp_journal_adopt's rule, for the local copy L and the other copy T:
 * - T's generation is S (T has not moved since), or not above L's when
 *   S is unknown: L is a superset and stays.
 * - T moved and L has not been compacted since S (L's generation is S):
 *   T is taken, then L's tail is appended (the lines written here since
 *   its own compaction, which T never saw): lines are events folded in
 *   order and these are the later ones here.
 * - Both moved (L compacted lines it never stored, say a run whose last
 *   push failed, while another machine stored T): T is taken and all of
 *   L's lines follow it, state and tail, so nothing written here is lost.
 * Re-folding a line that T already holds changes nothing (outcomes are
 *   idempotent), except that it may undo a later outcome of the same
 *   experiment written elsewhere in between: at worst an experiment is
 *   written or reported again, or not removed by a later --delete. Two
 *   machines running one shard at once are not supported (each has its
 *   own lock only).
 *
 * Reading is streamed. A run that neither resumes nor syncs keeps only the
 * experiments left partial (cheap to find: other lines are not parsed), and
 * then compacts at its end only once the tail has outgrown the state.
 * Secrets never reach it: locations are recorded without options. The
 * caller owns the struct via xp_journal_open/close. */
#ifndef XPORT_JOURNAL_H
#define XPORT_JOURNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct lh_table;

struct xp_journal {
    char *path;
    char *src, *dst;
    int fd;
    int flags;
    int full;             /* every experiment's state is in `map` */
    pthread_mutex_t lock;
    struct lh_table *map; /* "ws\x1fproj\x1fname" -> state */
    int64_t state_lines;  /* lines of state after the header */
    int64_t tail_lines;   /* lines appended since */
    int unsynced;         /* lines written and not yet fsynced */
    long loaded;          /* experiments done in earlier runs (resume) */
    int64_t compactions;  /* done by this process (tests, bench) */
    int64_t gen;          /* the generation of the file's header (below) */
    /* the last listing recorded (xp_journal_listed), or -1 */
    int64_t listed, listed_of;
};

/* XP_JOURNAL_RESUME: finished experiments count as done (xp_journal_done);
 * XP_JOURNAL_SYNC: the provenance of every experiment is needed
 * (xp_journal_created, for --sync and --delete); XP_JOURNAL_READONLY: write
 * nothing (dry runs; a missing journal is then empty). Without RESUME or
 * SYNC only experiments left partial are kept in memory. A journal of
 * another source/destination pair is refused. */
enum {
    XP_JOURNAL_RESUME = 1,
    XP_JOURNAL_READONLY = 2,
    XP_JOURNAL_SYNC = 4
};
int xp_journal_open(struct xp_journal *j, const char *path, const char *src,
                    const char *dst, int flags);
/* Compact when due (see above), then close. Returns the compaction's error
 * (the old journal is then intact); the struct is released either way. */
int xp_journal_close(struct xp_journal *j);

/* Compact now when lines were appended since the last compaction (the
 * generation goes up), then, when copy_to is not NULL, copy the journal
 * as it stands into copy_to (atomically), before any later line: what a
 * push sends; *gen (may be NULL) gets the copy's generation. On a
 * compaction error nothing is copied and the journal is whole as it was. */
int xp_journal_compact(struct xp_journal *j, const char *copy_to, int64_t *gen);
/* Before xp_journal_open: bring the copy of the journal at path's pair
 * kept elsewhere, fetched into theirs, together with the local one at
 * path, by the rule above. *stored is S on entry (-1: unknown) and the
 * generation theirs has on return. *took is 1 when path now holds theirs
 * (with local lines appended), 0 when the local one stays. theirs must be
 * a journal with a header (XP_EINVALID otherwise, path untouched). */
int xp_journal_adopt(const char *path, const char *theirs, int64_t *stored, int *took);

/* 1 when an earlier run finished this experiment (copied or skipped) and
 * did not leave it partial. Needs XP_JOURNAL_RESUME. */
int xp_journal_done(struct xp_journal *j, const char *ws, const char *proj,
                    const char *name);
/* 1 when some run of this journal copied this experiment (and no run
 * deleted it since). Needs XP_JOURNAL_SYNC. */
int xp_journal_created(struct xp_journal *j, const char *ws, const char *proj,
                       const char *name);
/* 1 when the last write of this experiment left items behind (and no run
 * has written it whole since): *mask gets the resources (enum xp_resource)
 * they belong to, *dropped how many, first (cap bytes) the first one. */
int xp_journal_partial(struct xp_journal *j, const char *ws, const char *proj,
                       const char *name, unsigned *mask, int64_t *dropped,
                       char *first, size_t cap);

/* Record an outcome ("copied", "skipped", "failed", "deleted"). */
int xp_journal_record(struct xp_journal *j, const char *ws, const char *proj,
                      const char *name, const char *src_key, const char *dst_id,
                      const char *outcome, const char *error);
/* Record an experiment written with `dropped` items left behind, of the
 * resources in mask; first names the first. */
int xp_journal_record_partial(struct xp_journal *j, const char *ws, const char *proj,
                              const char *name, const char *src_key,
                              const char *dst_id, unsigned mask, int64_t dropped,
                              const char *first);

/* Record how many experiments this run's listing gave it (listed) of how
 * many the source listed (of: more under --shard), so that a reader of
 * the journal (xport status) can tell how many remain. Compaction keeps
 * the last such record in the header. */
int xp_journal_listed(struct xp_journal *j, int64_t listed, int64_t of);

/* What one journal file holds, read without its pair (xport status):
 * experiments done (copied or skipped, whole), partial, failed, and the
 * last listing recorded (-1 when none). src and dst are heap copies. */
struct xp_journal_summary {
    char *src, *dst;
    int64_t done, partial, failed;
    int64_t listed, listed_of;
};
int xp_journal_summary(const char *path, struct xp_journal_summary *out);

/* Where a pair's journal lives when no --state-file is given and the
 * destination is not a folder: $XDG_STATE_HOME/xport/journals/ (default
 * ~/.local/state/xport/journals/), named after a hash of the pair. */
char *xp_journal_state_path(const char *src, const char *dst);
/* $XDG_STATE_HOME/xport/<sub> (default ~/.local/state/xport/<sub>). */
char *xp_state_dir(const char *sub);

#endif
