/* The neptune-export adapter's internals: a run of neptune-exporter's
 * Parquet files (neptune-ai/neptune-exporter, model.py::SCHEMA) read row
 * group by row group (nex_rows.c) into atoms kept in memory and series
 * points spooled to disk, then emitted as records (nex_emit.c). */
#ifndef XPORT_NEX_H
#define XPORT_NEX_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/spool.h"
#include "xport/sys/adapter.h"

struct json_object;

enum nex_series_kind { NEX_FLOAT = 1, NEX_STRING, NEX_HIST };

struct nex_series {
    char *path;
    enum nex_series_kind kind;
    size_t stream;     /* spool stream of its points */
    int64_t npoints;
    int console;       /* a string series that is console output */
};

struct nex_file {
    char *attr;        /* attribute path */
    char *type;        /* file, file_series, file_set, artifact */
    char *rel;         /* file_value.path, relative to files/<project dir> */
    char step[48];     /* decimal text or "" */
    int64_t ts_ms;
    int has_ts;
};

struct nex_run {
    const struct xp_ctx *ctx;
    char *project_id, *run_id;
    struct json_object *atoms;  /* path -> value (parameters and sys/ atoms) */
    struct json_object *types;  /* path -> attribute_type */
    struct json_object *index;  /* series path -> index in series[] */
    struct nex_series *series;
    size_t nseries, capseries;
    struct nex_file *files;
    size_t nfiles, capfiles;
    struct xp_spool *spool;
    int64_t rows;
    struct xp_buf lost;         /* what cannot be moved, "; "-separated */
    struct xp_buf scratch;
};

void nex_run_init(struct nex_run *r, const struct xp_ctx *ctx);
void nex_run_release(struct nex_run *r);
/* Read one Parquet part of the run into r, one row group at a time. */
int nex_read_part(struct nex_run *r, const char *path);
/* project_id and run_id of a part's first row (for listing), to free. */
int nex_peek_ids(const char *path, char **project_id, char **run_id);

/* ---- records (nex_emit.c) ---- */
struct nex_emit;
struct nex_emit_opts {
    unsigned resources;
    const char *only_series;
    const struct xp_experiment_meta *meta;
    const char *files_root; /* files/<project dir>, or NULL */
};
int nex_emit_new(struct nex_emit **out, struct nex_run *run,
                 const struct nex_emit_opts *o);
int nex_emit_next(struct nex_emit *e, const struct xp_record **rec);
void nex_emit_free(struct nex_emit *e);

#endif
