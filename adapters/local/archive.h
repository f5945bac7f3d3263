/* Private to the local adapter: an xport layout inside a tar (plain, gzip,
 * zstd, xz) or zip archive, read by streaming members through libarchive
 * and written experiment by experiment from a staging folder (archive_*.c). */
#ifndef XPORT_LOCAL_ARCHIVE_H
#define XPORT_LOCAL_ARCHIVE_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "xport/buf.h"
#include "xport/record.h"

struct archive;
struct xp_ctx;
struct json_object;

/* Small JSON documents (experiment.json, metadata.json, ...) are kept in
 * memory by the index pass up to this size each and ARC_DOCS_TOTAL in all;
 * anything else is streamed from the archive when it is read. */
#define ARC_DOC_MAX (64 * 1024)
#define ARC_DOCS_TOTAL ((size_t)256 << 20)
/* Open libarchive handles kept at their position for the next member. */
#define ARC_POOL 8

struct arc_member {
    char *name;      /* below the layout root, '/'-separated, no dot segments */
    int64_t size;
    size_t ordinal;  /* position of its header in the archive */
    int is_dir;
    char *link;      /* a link's target below the root (resolved after the pass) */
    size_t data;     /* index of the member holding the bytes: itself or a link's target */
    char *doc;       /* the bytes of a small JSON document, or NULL */
};

struct arc_cursor;

struct arc_index {
    char *path;          /* of the archive file */
    struct xp_ctx *ctx;  /* for warnings */
    struct arc_member *m;
    size_t n;            /* m is sorted by name */
    pthread_mutex_t lock;
    struct arc_cursor *pool[ARC_POOL];
    size_t npool;
    int passes;          /* archive openings after the index pass */
    int warned_order;
};

/* archive_index.c: the one pass over the headers that checks every member
 * (no path outside the root, no link out of it, no device or fifo) and
 * finds the layout's root (the top, or one top folder holding xport.json).
 * Fails with XP_EINVALID naming the member, or the archive when it is
 * corrupt or truncated. */
int arc_index_open(struct arc_index **out, const char *path, struct xp_ctx *ctx);
void arc_index_free(struct arc_index *x); /* after arc_pool_close */
/* The member called name (below the root), links resolved; NULL if none. */
const struct arc_member *arc_find(const struct arc_index *x, const char *name);
int arc_is_dir(const struct arc_index *x, const char *name);
/* Names directly below folder name ("" for the root), sorted bytewise, as
 * xp_list_dir gives them. */
int arc_list(const struct arc_index *x, const char *name, char ***out, size_t *n);
/* Member names are UTF-8 whatever the user's locale: libarchive converts
 * names through the thread's locale (and fails on non-ASCII in the C
 * locale), so the threads calling it switch to C.UTF-8 for the while.
 * arc_utf8_leave takes what arc_utf8_enter returned. */
void *arc_utf8_enter(void);
void arc_utf8_leave(void *old);
/* Open path with libarchive, every filter and the tar and zip formats. */
int arc_read_open(struct archive **out, const char *path);

/* archive_stream.c: members' bytes through pooled handles, each moved
 * forward only; a member behind every handle costs another pass. */
/* Close the pooled handles (before arc_index_free). */
void arc_pool_close(struct arc_index *x);
/* A FILE* reading the member's bytes (glibc's fopencookie), so that the
 * layout reader parses JSONL from an archive with its own code. */
FILE *arc_fopen(struct arc_index *x, const char *name, const char *what);
/* The member's bytes as a stream; free() gives its handle back. */
int arc_open_body(struct arc_index *x, const char *name, const char *what,
                  struct xp_stream **out);
/* A JSON document: from the index when held, else read (up to 256 MiB). */
int arc_read_json(struct arc_index *x, const char *name, const char *what,
                  struct json_object **out);

/* archive_write.c: an archive written member by member, its format from
 * its name: headers with fixed times, owners and modes and compressors
 * with fixed settings, so that the same members give the same bytes.
 * Atomic: written under a temp name beside path (xp_tmp_name), renamed
 * over path by arc_out_close. */
struct arc_out;
int arc_out_open(struct arc_out **out, const char *path, struct xp_ctx *ctx);
/* The file dir/rel as the member rel, when it is a regular file. */
int arc_out_file(struct arc_out *o, const char *dir, const char *rel);
/* The experiment folder dir/rel, members in the layout reader's order. */
int arc_out_experiment(struct arc_out *o, const char *dir, const char *rel);
/* Close, fsync and rename over the path; frees o either way. */
int arc_out_close(struct arc_out *o);
/* Drop o and its temp file (keep != 0: leave the file). */
void arc_out_free(struct arc_out *o, int keep);

#endif
