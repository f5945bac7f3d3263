/* The resume journal of a copy: an append-only JSONL file, each line
 * written and fsynced before the work it records is considered done, so it
 * survives kill -9. It records the run (source, destination), and each
 * experiment's outcome with its source and destination ids. A torn last
 * line (a crash mid-write) is ignored when loading. The journal owns its
 * strings; callers own the struct via xp_journal_open/close. Secrets never
 * reach it: locations are recorded without options. */
#ifndef XPORT_JOURNAL_H
#define XPORT_JOURNAL_H

#include <pthread.h>

struct json_object;

struct xp_journal {
    char *path;
    int fd;
    pthread_mutex_t lock;
    struct json_object *done; /* "ws\\x1fproj\\x1fname" -> destination id */
    struct json_object *created; /* keys xport copied in any earlier run */
    long loaded;              /* experiments done in earlier runs */
};

/* Open path, appending. Earlier entries are always loaded for provenance
 * (sync --delete removes only what xport created); XP_JOURNAL_RESUME also
 * makes their finished experiments count as done; XP_JOURNAL_READONLY
 * writes nothing (a missing journal is then empty). A journal of another
 * source/destination pair is refused. */
enum { XP_JOURNAL_RESUME = 1, XP_JOURNAL_READONLY = 2 /* dry runs */ };
int xp_journal_open(struct xp_journal *j, const char *path, const char *src,
                    const char *dst, int flags);
void xp_journal_close(struct xp_journal *j);
/* 1 when an earlier run finished this experiment (copied or skipped). */
int xp_journal_done(struct xp_journal *j, const char *ws, const char *proj,
                    const char *name);
/* 1 when some run of this journal copied this experiment. */
int xp_journal_created(struct xp_journal *j, const char *ws, const char *proj,
                       const char *name);
/* Record an outcome ("copied", "skipped", "failed"); fsynced on return. */
int xp_journal_record(struct xp_journal *j, const char *ws, const char *proj,
                      const char *name, const char *src_key, const char *dst_id,
                      const char *outcome, const char *error);

#endif
