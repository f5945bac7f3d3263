/* The neptune-offline adapter's internals: a run's attributes as the
 * replayed operation queue leaves them (npt_state.c), the queue files that
 * feed it (npt_queue.c) and the records made from it (npt_emit.c). */
#ifndef XPORT_NPT_H
#define XPORT_NPT_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/sys/adapter.h"

struct json_object;

/* Attribute types, as the 1.x client names its attribute classes. */
enum npt_type {
    NPT_FLOAT = 1,
    NPT_INT,
    NPT_BOOL,
    NPT_STRING,
    NPT_DATETIME,
    NPT_STRING_SET,
    NPT_FLOAT_SERIES,
    NPT_STRING_SERIES,
    NPT_FILE_SERIES, /* LogImages */
    NPT_FILE,
    NPT_FILE_SET,
    NPT_ARTIFACT
};
const char *npt_type_name(enum npt_type t);

/* Bytes stored inside a queue line (base64 of UploadFileContent or of an
 * image of LogImages): read again from the file when emitted, so images
 * are never all in memory at once. */
struct npt_blob {
    int file;     /* index into npt_run.files */
    int64_t off;  /* the line's offset in that file */
    int64_t len;  /* its length, newline excluded */
    int value;    /* index in obj.values, or -1 for obj.file_content */
};

struct npt_image {
    struct npt_blob blob;
    char *name, *description;
};

/* 32 bytes: a run may hold many millions. */
struct npt_point {
    double step;
    int has_step;
    int64_t ts_ms; /* int(ts * 1000), as `neptune sync` sends it */
    union {
        double d;
        char *s;
        struct npt_image *img;
    } u;
};

struct npt_attr {
    char *path;
    enum npt_type type;
    union {
        double d;
        int64_t i;
        int b;
        char *s;
        int64_t ms; /* datetime: epoch milliseconds */
    } v;
    int32_t ns; /* datetime: nanoseconds past v.ms (3.x keeps them), 0..999999 */
    /* string set: sorted, unique */
    char **set;
    size_t nset;
    /* series */
    struct npt_point *pts;
    size_t npts, cappts;
    struct json_object *config; /* ConfigFloatSeries {min, max, unit} */
    /* file: ext and where the bytes are */
    char *ext, *file_path, *tmp_name;
    struct npt_blob content;
    int has_content;
    /* file set and artifact: their operations, kept as given */
    struct json_object *ops;
    char *hash;
};

struct npt_run {
    struct npt_attr **attrs; /* hash table by path, open addressing */
    size_t cap, n;
    char **files; /* data-N.log files read, in order */
    size_t nfiles;
    struct xp_buf lost; /* what could not be read, "; "-separated */
    int64_t nops, rejected;
    /* files read from this machine by an absolute path the run names */
    int64_t outside;
    char *outside_first;
    const struct xp_ctx *ctx;
    const char *id; /* the container's id, borrowed */
};

void npt_run_init(struct npt_run *r, const struct xp_ctx *ctx, const char *id);
void npt_run_release(struct npt_run *r);
/* Count a file read from outside the run's folder. */
void npt_outside(struct npt_run *r, const char *path);
/* At a run's END: warn about the files counted by npt_outside, and fail
 * naming what r->lost holds (or, with allow_partial, warn about it). name
 * and where name the run and its folder. */
int npt_finish(struct npt_run *r, const char *name, const char *where,
               int allow_partial);
/* Apply one operation object ({"type", "path", ...}); line locates it for
 * blobs and messages. Returns 0, or XP_EINVALID for a malformed operation
 * (the caller reports it and goes on). */
int npt_apply(struct npt_run *r, struct json_object *op, int file, int64_t off,
              int64_t len);
struct npt_attr *npt_get(struct npt_run *r, const char *path);
/* A new attribute at path (replacing any there), for readers that build a
 * run's state from something other than operations. */
struct npt_attr *npt_add(struct npt_run *r, const char *path, enum npt_type t);
void npt_set_add(struct npt_attr *a, const char *s);
void npt_set_remove(struct npt_attr *a, const char *s);
void npt_push(struct npt_attr *a, const struct npt_point *p); /* copied */
/* Attributes sorted by path (the array is the caller's to free). */
struct npt_attr **npt_sorted(struct npt_run *r, size_t *n);

/* ---- the queue of one container (npt_queue.c) ---- */

/* Replay every execution folder of a container, in order, into r. */
int npt_queue_replay(struct npt_run *r, char *const *dirs, size_t ndirs);
/* Read one blob back: its decoded bytes into out. */
int npt_blob_read(const struct npt_run *r, const struct npt_blob *b,
                  struct xp_buf *out);

/* ---- file sets (npt_fileset.c) ---- */

struct npt_fentry {
    char *target; /* the name inside the set, '/'-separated */
    char *source; /* where it is on this machine */
};
/* The files a file set holds after its operations, matched on this
 * machine; patterns that match nothing are noted in r->lost. */
int npt_fileset_resolve(struct npt_run *r, const struct npt_attr *a,
                        struct npt_fentry **out, size_t *n);
void npt_fileset_free(struct npt_fentry *v, size_t n);

/* ---- records (npt_emit.c) ---- */

/* An attribute path as a relative file path (out reset first): segments not
 * safe as path segments ("..", ".", "") are encoded (xp_name_encode). */
int npt_safe_rel(struct xp_buf *out, const char *path);
/* The fields of one series point into f (room for 3): "value" (the string
 * s of slen bytes, or the double d when s is NULL), "step" when has_step,
 * "timestamp" as ms / 1000 epoch seconds. Returns how many. */
size_t npt_fields(struct xp_field *f, double d, const char *s, size_t slen, int has_step,
                  double step, int64_t ms);
/* 1 when the double d gives the decimal step text back at the text's own
 * scale; else the point also keeps the text as "step_decimal" (Neptune's
 * steps are decimals: neptune-exporter's decimal(18,6), neptune-scale's
 * whole + micro). */
int npt_step_exact(double d, const char *text);

struct npt_emit;
struct npt_emit_opts {
    unsigned resources;
    const char *only_series;
    const struct xp_experiment_meta *meta; /* the EXPERIMENT record */
};
/* Put v at path (split on '/') inside the object root (shared with the
 * neptune-export adapter). */
void npt_put_nested(struct json_object *root, const char *path,
                    struct json_object *v);
/* An attribute path as a relative file path, each segment that is not
 * safe as a path segment ("..", ".", "") encoded (xp_name_encode). */
int npt_safe_rel(struct xp_buf *out, const char *path);
/* An atom or string set as JSON, datetimes as ISO-8601 UTC (NULL for other
 * types). */
struct json_object *npt_atom_json(const struct npt_attr *a);
int npt_emit_new(struct npt_emit **out, struct npt_run *run,
                 const struct npt_emit_opts *o);
/* 0 with *rec filled, XP_ITEROVER after END, or an error. */
int npt_emit_next(struct npt_emit *e, const struct xp_record **rec);
void npt_emit_free(struct npt_emit *e);

#endif
