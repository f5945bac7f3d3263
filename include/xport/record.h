/* The streaming record model: an experiment is a sequence of records that a
 * reader yields and a sink consumes.
 *
 * Ownership: every pointer inside a record a reader returns is borrowed and
 * stays valid only until the next call to that reader's next() or free();
 * sinks copy whatever they keep. json-c objects inside records follow the
 * same rule (the sink takes a reference with json_object_get if it keeps one).
 *
 * Order, checked by the core (core/copy.c):
 *   EXPERIMENT (DOCUMENT | SERIES_BEGIN POINTS* SERIES_END | LOGS | FILE)* END
 */
#ifndef XPORT_RECORD_H
#define XPORT_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;

/* Resources a user can select or ignore (`xport copy ... metrics logs`). */
enum xp_resource {
    XP_RES_PARAMETERS = 1u << 0,
    XP_RES_METRICS = 1u << 1,
    XP_RES_LOGS = 1u << 2,
    XP_RES_FILES = 1u << 3,
    XP_RES_OTHERS = 1u << 4,    /* summary.json and others.json */
    XP_RES_SYSTEM = 1u << 5,    /* system metrics (GPU, CPU, memory ...) */
    XP_RES_ARTIFACTS = 1u << 6,
    XP_RES_ALL = (1u << 7) - 1
};
/* Parse "metrics" etc.; returns 0 when unknown. */
unsigned xp_resource_parse(const char *name);
const char *xp_resource_name(unsigned one_bit);

/* ---- values ----------------------------------------------------------- */

enum xp_vtype {
    XP_V_NULL = 0,
    XP_V_BOOL,
    XP_V_INT,    /* int64 */
    XP_V_UINT,   /* uint64 above INT64_MAX only */
    XP_V_FLOAT,  /* IEEE double, any bit pattern incl. NaN, ±Inf, -0 */
    XP_V_STRING, /* UTF-8, not NUL-terminated necessarily: use len */
    XP_V_JSON    /* raw JSON text of an object or array */
};

struct xp_value {
    enum xp_vtype type;
    union {
        int b;
        int64_t i;
        uint64_t u;
        double d;
        struct {
            const char *ptr;
            size_t len;
        } s; /* XP_V_STRING and XP_V_JSON */
    } u;
};

struct xp_field {
    const char *key; /* NUL-terminated UTF-8 */
    struct xp_value v;
};

/* One point of a series: the source's index and its data object, whose
 * well-known keys are "value", "step", "epoch" and "timestamp" (epoch seconds);
 * any other keys the vendor has are kept in order. */
struct xp_point {
    int64_t index;
    const char *created_at; /* ISO-8601 UTC or NULL */
    const struct xp_field *fields;
    size_t nfields;
};

#define XP_POINTS_BATCH 4096

/* ---- records ---------------------------------------------------------- */

enum xp_rec_kind {
    XP_REC_EXPERIMENT = 1,
    XP_REC_DOCUMENT,     /* parameters / summary / others */
    XP_REC_SERIES_BEGIN,
    XP_REC_POINTS,
    XP_REC_SERIES_END,
    XP_REC_LOGS,
    XP_REC_FILE,
    XP_REC_END
};

struct xp_experiment_meta {
    const char *workspace;   /* required */
    const char *project;     /* required */
    const char *name;        /* required, as the vendor shows it */
    const char *description; /* may be NULL */
    const char *const *tags; /* ntags entries */
    size_t ntags;
    const char *status;      /* RUNNING COMPLETED FAILED CANCELLED or NULL */
    const char *created_at;  /* ISO-8601 UTC, any may be NULL */
    const char *started_at;
    const char *ended_at;
    const char *folder;      /* vendor folder/group path, may be NULL */
    const char *source_vendor; /* adapter name that read it, e.g. "mldash" */
    const char *source_id;     /* the vendor's id of the experiment */
    const char *source_url;
    struct json_object *metadata; /* free metadata (object) or NULL */
    struct json_object *vendor;   /* vendor fields kept verbatim or NULL */
};

enum xp_doc_kind { XP_DOC_PARAMETERS = 1, XP_DOC_SUMMARY, XP_DOC_OTHERS };

/* Metrics and system metrics hold points {index, data}; tracks are ml-dash
 * 0.6 topics whose rows are flat objects with a "timestamp" field. */
enum xp_series_kind { XP_SERIES_METRIC = 1, XP_SERIES_SYSTEM, XP_SERIES_TRACK };

struct xp_series_meta {
    const char *name;               /* the vendor's metric name, any UTF-8 */
    enum xp_series_kind kind;
    const char *description;        /* may be NULL */
    struct json_object *metadata;   /* vendor metadata or NULL */
    int64_t expected_points;        /* -1 when unknown */
};

struct xp_log_entry {
    int64_t seq;            /* sequence number at the source */
    const char *timestamp;  /* ISO-8601 UTC or NULL */
    const char *level;      /* info warn error debug fatal, or NULL */
    const char *stream;     /* "stdout"/"stderr" or NULL */
    const char *message;    /* UTF-8 */
    size_t message_len;
    struct json_object *metadata; /* or NULL */
};

/* A pull stream of bytes (a file's body). read returns bytes read, 0 at the
 * end, or a negative XP_E* code. */
struct xp_stream {
    ssize_t (*read)(struct xp_stream *s, void *buf, size_t len);
    void (*free)(struct xp_stream *s);
};

struct xp_file_meta {
    const char *path;         /* relative path under files/, '/'-separated */
    int64_t size;             /* -1 when unknown */
    const char *sha256;       /* hex, or NULL when the source has none */
    const char *vendor_checksum_algo; /* "md5", "sha256", ... or NULL */
    const char *vendor_checksum;      /* as the vendor gives it */
    const char *content_type; /* or NULL */
    const char *id;           /* vendor file id or NULL */
    struct json_object *metadata; /* or NULL */
    /* NULL for the run's own files (files/<path>); "name:version" for a
     * file of an artifact (artifacts/<name:version>/<path>, resource
     * "artifacts"). */
    const char *artifact;
};

struct xp_record {
    enum xp_rec_kind kind;
    /* SERIES_BEGIN and DOCUMENT: when the vendor made and last changed the
     * series or document (ISO-8601 UTC, as ml-dash keeps them), or NULL.
     * Outside the union so that a reader that never sets them leaves them
     * NULL (records live in zeroed memory); one that sets them sets both
     * for every such record. */
    const char *created_at, *updated_at;
    union {
        struct xp_experiment_meta exp;
        struct {
            enum xp_doc_kind kind;
            struct json_object *doc; /* an object */
        } doc;
        struct xp_series_meta series;
        struct {
            const struct xp_point *v;
            size_t n;
        } points;
        struct {
            const struct xp_log_entry *v;
            size_t n;
        } logs;
        struct {
            struct xp_file_meta meta;
            struct xp_stream *body; /* borrowed; read it before next() */
        } file;
    } u;
};

const char *xp_rec_kind_name(enum xp_rec_kind k);
/* "metrics", "system" or "tracks": the folder and item-key prefix. */
const char *xp_series_dir(enum xp_series_kind k);

#endif
