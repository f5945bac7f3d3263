/* The neptune-scale adapter's internals: a private copy of a run's
 * run_operations.sqlite3 (nps_db.c), its operations replayed into a run's
 * state (nps_replay.c: atoms in an npt_run, series spooled) and the
 * records made from that state (nps_emit.c). */
#ifndef XPORT_NPS_H
#define XPORT_NPS_H

#include <stddef.h>
#include <stdint.h>

#include "npt.h"
#include "xport/buf.h"
#include "xport/pb.h"
#include "xport/record.h"
#include "xport/spool.h"

struct json_object;

/* ---- the database (nps_db.c) ---- */

struct nps_db;
/* Copy dbpath (and its -wal, when there is one) into a private temporary
 * folder and open the copy; the user's folder is only read. */
int nps_db_open(struct nps_db **out, const char *dbpath);
void nps_db_close(struct nps_db *db);
/* The metadata row read without a copy, when the main file has it (the
 * strings are the caller's); -1 when it cannot tell. */
int nps_db_peek(const char *dbpath, char **version, char **project, char **run_id);
/* The metadata row (borrowed until close); refuses versions other than
 * "v5" and a database without the row. */
int nps_db_meta(struct nps_db *db, const char **version, const char **project,
                const char **run_id);
/* Each row of run_operations in sequence_id order. cb returns 0 to go on. */
typedef int (*nps_op_cb)(void *payload, int64_t seq, int64_t ts_ms, int64_t type,
                         const void *blob, size_t len);
int nps_db_operations(struct nps_db *db, nps_op_cb cb, void *payload);
/* The highest sequence_id ever given (sqlite_sequence), or 0. */
int64_t nps_db_max_seq(struct nps_db *db);
/* file_upload_requests as a JSON array of {id, source_path, destination,
 * mime_type, size_bytes, is_temporary}; operation_errors as an array of
 * {error_id, timestamp, error_type, error_details, sequence_id}. */
int nps_db_files(struct nps_db *db, struct json_object **out);
int nps_db_errors(struct nps_db *db, struct json_object **out);
const char *nps_db_path(const struct nps_db *db); /* the user's file */

/* ---- the replayed state (nps_replay.c) ---- */

/* A Step{whole, micro}: the exact decimal whole.micro (micro < 10^6). */
struct nps_step {
    uint64_t whole, micro;
};
/* "whole.micro" with six decimals, trailing zeros dropped ("3.5", "0.1",
 * "7"): the exact step. */
void nps_step_text(char out[48], const struct nps_step *s);

/* The header of each spooled point; the Value message follows it. */
#define NPS_HAS_STEP 1u
#define NPS_HAS_TS 2u
#define NPS_PREVIEW 4u
struct nps_hdr {
    struct nps_step step;
    int64_t sec;      /* google.protobuf.Timestamp */
    int32_t nanos;
    uint32_t ratio;   /* Preview.completion_ratio, float bits */
    uint8_t flags;
    uint8_t stream;   /* logs: 0 stdout, 1 stderr */
    uint64_t seq;     /* the operation's sequence_id */
};

enum nps_skind { NPS_SERIES = 1, NPS_FILES };

struct nps_series {
    char *path;
    enum nps_skind kind; /* by the first value appended */
    int vkind;           /* that value's Value field number */
    size_t sid;          /* spool stream */
    uint64_t n;
};

/* An assigned file_ref (the last one of its path). */
struct nps_fattr {
    char *path;
    struct nps_hdr h;
    struct xp_buf value; /* the Value message */
};

struct nps_run {
    struct npt_run atoms; /* atoms and string sets, as npt_emit reads them */
    struct xp_spool *spool;
    struct nps_series *series;
    size_t nseries;
    size_t *table, cap; /* index+1 into series by path hash, open addressing */
    struct nps_fattr *files;
    size_t nfiles;
    size_t logs_sid;
    uint64_t nlogs;
    struct json_object *create; /* the CreateRun fields, or NULL */
    int64_t creates, snapshots, first_seq, last_seq, rows;
    const char *dbname; /* for messages */
};

void nps_run_init(struct nps_run *r, const struct xp_ctx *ctx, const char *id,
                  const char *dbname);
void nps_run_release(struct nps_run *r);
/* Apply one row of run_operations. Damaged protobuf is an error naming the
 * row; values the state cannot hold are noted in r->atoms.lost. */
int nps_apply(struct nps_run *r, int64_t seq, int64_t type, const void *blob,
              size_t len);
/* Decode a Timestamp message. */
int nps_timestamp(const unsigned char *p, size_t len, int64_t *sec,
                  int32_t *nanos);
int nps_step(const unsigned char *p, size_t len, struct nps_step *s);

/* ---- values (nps_value.c) ---- */

char *nps_arena_dup(struct xp_arena *a, const void *p, size_t n);
/* The double nearest to a step (whether it gives the step back is
 * npt_step_exact's to say). */
double nps_step_double(const struct nps_step *s);
/* Epoch seconds as the double nearest to sec.nanos. */
double nps_ts_double(int64_t sec, int32_t nanos);
/* The field of a Value message that holds it (the last, as protobuf reads a
 * oneof): 1, 0 when none, -1 when damaged. */
int nps_value_field(const unsigned char *p, size_t len, struct xp_pb_field *out);
/* A Value as a point's value, strings and JSON in the arena; -1 when it
 * does not decode or is a file_ref. */
int nps_point_value(struct xp_arena *arena, struct xp_value *v,
                    const unsigned char *p, size_t len);
/* The series type of a Value field number ("floatSeries", ...). */
const char *nps_vkind_name(int k);

/* ---- records (nps_emit.c) ---- */

struct nps_emit;
struct nps_emit_opts {
    unsigned resources;
    const char *only_series;
    const struct xp_experiment_meta *meta;
    struct json_object *uploads; /* file_upload_requests (borrowed) */
    const char *run_dir;         /* the run's folder, for temporary files */
};
int nps_emit_new(struct nps_emit **out, struct nps_run *run,
                 const struct nps_emit_opts *o);
int nps_emit_next(struct nps_emit *e, const struct xp_record **rec);
void nps_emit_free(struct nps_emit *e);

#endif
