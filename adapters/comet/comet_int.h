/* Shared pieces of the Comet adapters (cometx folders, offline archives):
 * Comet's metric values and points, and the cometx experiment folder. Only
 * files under adapters/comet/ include this. */
#ifndef XPORT_COMET_INT_H
#define XPORT_COMET_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/iso8601.h"
#include "xport/record.h"
#include "xport/spool.h"
#include "xport/stream.h"
#include "xport/sys/adapter.h"

struct json_object;

/* ---- values (comet_value.c) ---------------------------------------------- */

/* Comet's REST API returns a metric value as a string ("0.5", "1.0E-5",
 * "NaN", "Infinity", "42"): the exact number it holds, an int64 when the
 * text is a plain integer that fits, else a double (strtod, so correctly
 * rounded); any other text stays a string. s[0..len) is borrowed. */
void comet_value_parse(struct xp_value *out, const char *s, size_t len);

/* Append v as Comet writes a metricValue: numbers as their exact text in
 * a JSON string (floats in the shortest form that reads back to the same
 * bits, always with '.' or 'e'; NaN, Infinity, -Infinity), null, bools and
 * JSON as themselves, a string as itself. Returns 1 (and writes nothing)
 * when v is a string that comet_value_parse would read back as a number. */
int comet_value_put(struct xp_buf *b, const struct xp_value *v);

/* One JSON object in s[0..len) scanned in place by xp_jscan_object; text
 * jscan does not take goes through json-c and back into the arena first
 * (the fields then point there). */
int comet_scan_object(char *s, size_t len, struct xp_arena *arena, struct xp_field *f,
                      size_t max, size_t *n);

/* ---- points (comet_value.c) ---------------------------------------------- */

#define COMET_MAX_FIELDS 24

/* A metric line's members (as xp_jscan_object gives them) turned into an
 * xport point in place: metricValue -> "value" (parsed), timestamp (epoch
 * milliseconds) -> "timestamp" (epoch seconds, a double), step, epoch and
 * runContext kept unless null, metricName dropped, every other member kept;
 * xport's own members (written by comet_point_put for what Comet has no
 * place for) are undone. *name gets metricName (NULL when absent), *kind
 * the series kind. in[0..*n) is rewritten; p->fields points at it. */
int comet_point_from_fields(struct xp_point *p, struct xp_field *f, size_t *n,
                            const char **name, enum xp_series_kind *kind,
                            int64_t index);

/* Append one metrics.jsonl line (newline included) for point p of series
 * name/kind at position pos in its series. A value Comet's form cannot
 * hold (text that reads as a number, a bool, an object) goes in as its
 * JSON text, the value itself in xport_value. Returns 0, or XP_EINVALID
 * for text that is not UTF-8. */
int comet_point_put(struct xp_buf *b, const char *name, enum xp_series_kind kind,
                    const struct xp_point *p, int64_t pos);

/* The epoch milliseconds Comet keeps for an xport timestamp (seconds);
 * *exact is 0 when reading them back would not give v to the bit. -1 when
 * v is no finite number. */
int comet_ts_millis(const struct xp_value *v, int64_t *ms, int *exact);
/* The point's field named k, or NULL. */
const struct xp_value *comet_point_field(const struct xp_point *p, const char *k);

/* The series kind Comet's name implies: "sys.*" are system metrics. */
enum xp_series_kind comet_kind_of(const char *name);

/* ---- series gathered from lines (comet_lines.c) --------------------------- */

/* Each metric's lines (with their line numbers) spooled in one pass over a
 * file that interleaves them, then read back metric by metric as series
 * records: cometx's metrics.jsonl, comet-offline's messages.json. */
struct comet_line_series {
    char *name;
    enum xp_series_kind kind;
    size_t stream;
};
struct comet_lines {
    struct xp_spool *spool;
    struct comet_line_series *v; /* in order of first appearance */
    size_t n;
    struct json_object *index;   /* name -> position in v */
    size_t si;                   /* reading: the current series */
    int64_t pi;                  /* its next point's index */
    struct xp_spool_iter it;
    int it_open;
};
/* The fields of the metric point in line[0..len) (NUL-terminated, writable;
 * fields may point into it or into arena), in f[0..*n). */
typedef int (*comet_line_scan)(void *payload, char *line, size_t len, size_t lineno,
                               struct xp_arena *arena, struct xp_field *f, size_t *n);
/* Append line[0..len), number lineno, to metric name's series. */
int comet_lines_add(struct comet_lines *c, const char *name, enum xp_series_kind kind,
                    size_t lineno, const char *line, size_t len);
/* The next record of the spooled series into rec: SERIES_BEGIN, POINTS
 * (up to max, fields from `fields`, each line scanned by scan), SERIES_END;
 * XP_ITEROVER after the last series. where names the file in messages. */
int comet_lines_next(struct comet_lines *c, struct xp_record *rec, comet_line_scan scan,
                     void *payload, struct xp_arena *arena, struct xp_point *pts,
                     struct xp_field *fields, size_t max, const char *where);
void comet_lines_release(struct comet_lines *c);

/* ---- parameters (comet_value.c) ------------------------------------------ */

/* Comet flattens nested parameters with '|' ("opt|lr"): nest them again.
 * Adds name=value to obj (value is taken over). */
void comet_param_nest(struct json_object *obj, const char *name,
                      struct json_object *value);

/* ---- the cometx adapter (cometx.c, cometx_read.c, cometx_write.c) -------- */

struct cometx_adapter {
    struct xp_adapter base;
    char *root;
    pthread_mutex_t lock;
    struct json_object *claimed; /* experiment folders being written */
    char *ws_pat, *proj_pat, *exp_pat;
    /* a second asset of the same name is read as NAME~2, NAME~3 (in list
     * order), not NAME~<assetId>: for folders fetched from a server, whose
     * copies get new asset ids (comet_fetch.c) */
    int dup_by_order;
};

int cometx_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                           const struct xp_experiment_ref *ref,
                           const struct xp_read_opts *ro);
int cometx_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                            const struct xp_experiment_meta *meta,
                            const struct xp_write_opts *wo);

/* An experiment folder's names: workspaceName and projectName from
 * metadata.json (else the folders'), the experiment's from the "Name"
 * other (as cometx copy takes it), else experimentName, else the folder.
 * metadata and others (the others.jsonl lines, an array) are owned. */
struct cometx_exp {
    char *dir;
    char *ws, *proj, *name;
    struct json_object *metadata; /* object, or NULL when absent */
    struct json_object *others;   /* array of objects, never NULL */
};
int cometx_exp_load(struct cometx_exp *e, const char *dir, const char *ws_folder,
                    const char *proj_folder, const char *exp_folder);
void cometx_exp_release(struct cometx_exp *e);

/* ---- helpers (comet_util.c) ---------------------------------------------- */


/* 1 when the experiment came from Comet (its key and metadata are Comet's). */
int comet_origin(const struct xp_experiment_meta *m);
/* The key to store an experiment under: its own when it came from Comet,
 * else 32 hex digits of SHA-256 of the source's vendor and id (so a rerun
 * finds it). strict: only keys comet_ml accepts (32-50 letters, digits). */
char *comet_experiment_key(const struct xp_experiment_meta *m, int comet_origin, int strict);
/* The asset record a file carries (metadata.comet, as the Comet readers
 * give it) when it fits the file's path; else NULL. Borrowed from m. */
struct json_object *comet_carried_record(const struct xp_file_meta *m);

/* cometx's own file name cleaning (cometx/framework/comet/download_manager.py
 * sanitize_filename): "/../" -> "/", ':' -> '-', leading '/' removed. The
 * result must still pass xp_relpath_safe before it is used. */
char *cometx_sanitize(const char *name);

/* ---- the comet-offline adapter (comet_offline*.c) ----------------------- */

/* An archive's names: workspace and project_name of experiment.json
 * ("offline" and "uncategorized" when null), the experiment's "Name" other
 * from messages.json, else its key (offline_id, else the file name). */
struct comet_names {
    char *ws, *proj, *name, *key;
};
/* nm from the archive's experiment.json and the name its messages give
 * (taken over; NULL: none, the key is used). */
int comet_offline_names(struct comet_names *nm, struct json_object *exp, char *name,
                        const char *zip);
/* *name (replaced) from line[0..n) of messages.json when it logs the "Name"
 * other (log_other, or the legacy ws_msg log_other {key, val}): the last one
 * logged wins. */
void comet_offline_name_line(const char *line, size_t n, char **name);
/* The same over messages.json given in chunks (comet_offline_name_chunk,
 * an xp_zip_read_chunks callback), holding one line at a time; then
 * comet_offline_name_end gives the name (NULL when none) and releases sc. */
struct comet_name_scan {
    struct xp_buf line;
    int skipping; /* in a line too long to hold */
    char *name;
};
#define COMET_NAME_SCAN_INIT {XP_BUF_INIT, 0, NULL}
int comet_offline_name_chunk(void *payload, const void *data, size_t len);
char *comet_offline_name_end(struct comet_name_scan *sc);
void comet_names_release(struct comet_names *n);
struct comet_offline_adapter {
    struct xp_adapter base;
    char *path;
    pthread_mutex_t lock;
    struct json_object *claimed; /* archives being written */
};
int comet_offline_write(struct xp_sink **out, struct xp_adapter *a,
                        const struct xp_experiment_meta *meta,
                        const struct xp_write_opts *wo);
int comet_offline_read(struct xp_reader **out, struct xp_adapter *a,
                       const struct xp_experiment_ref *ref,
                       const struct xp_read_opts *ro);

/* Others written by xport for what a cometx folder has no place for. */
#define COMET_X_PREFIX "xport_"
/* The log lines in the layout's form, when the store's own form loses
 * something: a file in cometx folders, an uploaded asset in archives. */
#define COMET_XPORT_LOGS "run/xport_logs.jsonl"

/* ---- xport's others (comet_value.c) ---------------------------------------- */

/* What Comet's experiments have no place for travels as others named
 * xport_status, xport_description, xport_folder, xport_metadata (JSON
 * text), xport_summary (JSON text), xport_source_vendor, xport_source_id. */
struct comet_extras {
    struct json_object *held; /* the values taken out */
    const char *status, *description, *folder, *src_vendor, *src_id;
    struct json_object *metadata, *summary; /* parsed; owned */
};
/* Move "Name" and every xport_* member out of the others object into x. */
int comet_extras_take(struct comet_extras *x, struct json_object *others);
void comet_extras_release(struct comet_extras *x);
/* Call add(payload, name, text) for each xport_* other m needs; running:
 * the store itself says the experiment runs. */
void comet_extras_put(const struct xp_experiment_meta *m, int comet_origin, int running,
                      void (*add)(void *payload, const char *name, const char *text),
                      void *payload);

#endif
