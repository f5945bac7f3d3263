/* The adapter interface, for people who write adapters (libgit2's sys/ split).
 *
 * An adapter is a const static `struct xp_adapter_type` (name, capabilities,
 * functions). Opening it yields an instance whose first member is
 * `struct xp_adapter`; reading an experiment yields a reader whose first member
 * is `struct xp_reader`; writing one yields a sink whose first member is
 * `struct xp_sink`. Ownership: objects returned through `**out` belong to the
 * caller, who releases them with the matching close/free; everything passed
 * in is borrowed for the duration of the call. */
#ifndef XPORT_SYS_ADAPTER_H
#define XPORT_SYS_ADAPTER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../record.h"

/* Bumped when this header changes incompatibly; plugins built against
 * another value are refused. */
#define XP_ADAPTER_ABI 6

enum xp_caps {
    XP_CAP_READ = 1u << 0,
    XP_CAP_WRITE = 1u << 1,
    XP_CAP_LIST_PROJECTS = 1u << 2,
    XP_CAP_NO_NETWORK = 1u << 3, /* local data only */
    XP_CAP_NEEDS_TOKEN = 1u << 4,
    XP_CAP_RESUME = 1u << 5      /* writes are idempotent per item */
};

/* Shared context of one run: set up by the CLI, passed to every adapter. */
struct xp_http;
struct xp_ctx {
    volatile sig_atomic_t *cancel; /* non-zero: stop at the next record */
    void (*warn)(void *payload, const char *msg); /* may be NULL */
    void *warn_payload;
    int verbose;
    struct xp_http *http; /* shared HTTP engine, NULL until one is needed */
};

void xp_ctx_warn(const struct xp_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int xp_ctx_cancelled(const struct xp_ctx *ctx);

/* Options given to an adapter: `--opt key=value` and the CLI's flags that an
 * adapter may read (api-key, remote, username, ...). Secrets are never
 * printed by the core. */
struct xp_kv {
    const char *key;
    const char *value;
};
struct xp_options {
    const struct xp_kv *v;
    size_t n;
};
/* The last value given for key, or NULL. */
const char *xp_options_get(const struct xp_options *o, const char *key);
/* 1 when a boolean option's value is set and not 0, false, no or off. */
int xp_option_true(const char *value);

/* Every key an adapter reads with xp_options_get is declared in its type's
 * `options` table, with its type, so a front end rejects a key no adapter
 * takes and a value of the wrong type before anything opens (libarchive's
 * "Undefined option"), and can list the keys in its help. */
enum xp_opt_kind {
    XP_OPT_STRING = 1, /* any text */
    XP_OPT_INT,        /* a whole number from min to max */
    XP_OPT_BOOL,       /* 1, 0, true, false, yes, no, on, off */
    XP_OPT_CHOICE      /* one of choices */
};
enum xp_opt_flags {
    /* Set by the CLI's own flag --KEY (--api-key, --remote, --batch-size,
     * ...), which checks it; `--opt KEY=...` is refused. Without it the key
     * is given with `--opt KEY=VALUE` or `--opt ADAPTER:KEY=VALUE`. */
    XP_OPT_FLAG = 1u << 0,
    /* Names the workspace read when a command names this adapter but no
     * source (see default_source): the first of these given wins. */
    XP_OPT_NAMES_SOURCE = 1u << 1
};
struct xp_option_decl {
    const char *key;              /* NULL ends a table */
    enum xp_opt_kind kind;
    unsigned flags;               /* enum xp_opt_flags */
    long min, max;                /* XP_OPT_INT */
    const char *const *choices;   /* XP_OPT_CHOICE: NULL-terminated */
    const char *help;             /* one line */
};
struct xp_adapter_type;
/* The declaration of key in t's table, or NULL. */
const struct xp_option_decl *xp_option_find(const struct xp_adapter_type *t,
                                            const char *key);
/* Does value fit d? XP_EINVALID naming the key, the adapter and what the
 * key takes otherwise. */
int xp_option_check(const struct xp_adapter_type *t, const struct xp_option_decl *d,
                    const char *value);
/* The XP_OPT_INT option key of t from o into *out, def when it is not given:
 * 0, or XP_EINVALID as xp_option_check says (also for an undeclared key), so
 * that the range lives only in the declaration. */
int xp_option_int(const struct xp_adapter_type *t, const struct xp_options *o,
                  const char *key, long def, long *out);

/* A location as the user wrote it: "PATH", "local:PATH" or
 * "VENDOR:WS[/PROJECT[/EXPERIMENT]]". The three selection parts may be glob
 * patterns with brace ranges (`run-{001..120}`); NULL means all. */
struct xp_location {
    char *adapter;    /* adapter name */
    char *path;       /* local adapters: the file system path, else NULL */
    char *workspace;
    char *project;
    char *experiment;
};

/* Experiment reference produced by listing. `key` is the adapter's own
 * handle (a path, an id) and is interpreted only by that adapter. */
struct xp_experiment_ref {
    const char *workspace;
    const char *project;
    const char *name;
    const char *key;
    int64_t size_hint; /* bytes if cheap to know, else -1 */
};
typedef int (*xp_experiment_cb)(const struct xp_experiment_ref *ref,
                                void *payload);
/* One name of state kept at a destination (state_list); non-zero stops. */
typedef int (*xp_state_cb)(void *payload, const char *name);

/* Items are named by keys: "metrics/<name>", "system/<name>",
 * "tracks/<name>", "files/<path>", "artifacts/<name:version>/<path>". */
struct xp_read_opts {
    unsigned resources;      /* enum xp_resource mask */
    const char *only_series; /* read just this series (verify), or NULL */
    /* Resume: before fetching a series or a file, a reader may ask whether
     * the destination already holds it complete, and skip it if so. NULL
     * means ask nothing. */
    int (*have_item)(void *payload, const char *key);
    void *have_payload;
};

struct xp_write_opts {
    unsigned resources;
    int overwrite; /* replace an experiment that exists */
    int resume;    /* keep items completed by an earlier, interrupted attempt */
    /* The experiment's position in the run's order (0, 1, ...) when the
     * destination is published whole (publish below: xp_copy then hands
     * out experiments in a fixed order, whatever the source's listing
     * order), or -1. Positions of experiments skipped or failed before
     * their sink opened never arrive. */
    int64_t ordinal;
};

struct xp_adapter_type;

struct xp_adapter {
    const struct xp_adapter_type *type;
    struct xp_ctx *ctx;
};

/* Readers and sinks carry the version of this header they were built
 * against, so that methods can be added at the end without breaking older
 * plugins (libgit2's GIT_*_VERSION): start from XP_READER_INIT and
 * XP_SINK_INIT, then set the methods. The core refuses unknown versions. */
#define XP_READER_VERSION 1
#define XP_SINK_VERSION 1

struct xp_reader {
    unsigned version; /* XP_READER_VERSION */
    /* Yield the next record; XP_ITEROVER after END. Required. */
    int (*next)(struct xp_reader *r, const struct xp_record **out);
    /* Required; must accept a reader in any state. */
    void (*free)(struct xp_reader *r);
};

/* A sink consumes records in the documented order. Its first failure is
 * sticky: later puts return that code and do nothing (Redis rio). */
#define XP_READER_INIT {XP_READER_VERSION, NULL, NULL}

struct xp_sink_core;
struct xp_sink {
    unsigned version; /* XP_SINK_VERSION */
    int (*put)(struct xp_sink *s, const struct xp_record *rec);
    /* commit != 0: make everything durable and visible. commit == 0: abort,
     * leaving nothing that looks complete (with wo->resume, completed items
     * may be kept for the next attempt). Returns the sticky error if any. */
    int (*finish)(struct xp_sink *s, int commit);
    void (*free)(struct xp_sink *s);
    /* Optional. 1 when the destination already holds the item (see the
     * keys above) complete, so the core skips its records. */
    int (*has_item)(struct xp_sink *s, const char *key);
    /* Optional. The destination's id of the experiment, for the journal's
     * source -> destination map; valid until free. */
    const char *(*dest_id)(struct xp_sink *s);
    /* The engine's own state of this sink (what xp_sink_drop counted);
     * adapters leave it alone. */
    struct xp_sink_core *core;
};
#define XP_SINK_INIT {XP_SINK_VERSION, NULL, NULL, NULL, NULL, NULL, NULL}

/* A sink skips an item its destination cannot hold (an artifact where
 * there are no artifacts, an invalid line in lenient mode, ...): count it
 * and warn (the first few), so the run ends non-zero and says what. */
void xp_sink_drop(struct xp_sink *s, const struct xp_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* How many items xp_sink_drop counted for s; *first (may be NULL) gets the
 * message of the first, valid until xp_sink_free. */
int64_t xp_sink_dropped(const struct xp_sink *s, const char **first);

/* The item key of a series or file record into out (core/copy.c). */
struct xp_buf;
void xp_item_key(struct xp_buf *out, const struct xp_record *rec);

struct xp_adapter_type {
    unsigned int abi;           /* XP_ADAPTER_ABI */
    const char *name;           /* "local", "mldash", ... also the scheme */
    const char *const *aliases; /* NULL-terminated or NULL */
    const char *summary;        /* one line for `xport adapters` */
    uint32_t caps;              /* enum xp_caps */

    /* Required. Must leave *out NULL on failure. */
    int (*open)(struct xp_adapter **out, const struct xp_adapter_type *type,
                const struct xp_location *loc, const struct xp_options *opts,
                struct xp_ctx *ctx);
    /* Required. */
    void (*close)(struct xp_adapter *a);

    /* Read side (XP_CAP_READ); may be NULL otherwise. list_experiments calls
     * cb once per experiment matching the location's selection; a non-zero
     * return from cb stops the listing and is returned. */
    int (*list_experiments)(struct xp_adapter *a, xp_experiment_cb cb,
                            void *payload);
    int (*read_experiment)(struct xp_reader **out, struct xp_adapter *a,
                           const struct xp_experiment_ref *ref,
                           const struct xp_read_opts *ro);

    /* Write side (XP_CAP_WRITE). Returns XP_EEXISTS when the destination has
     * a complete copy and wo->overwrite is 0. */
    int (*write_experiment)(struct xp_sink **out, struct xp_adapter *a,
                            const struct xp_experiment_meta *meta,
                            const struct xp_write_opts *wo);
    /* Optional (sync --delete). Remove one experiment listed by this
     * adapter; the core only asks for experiments xport itself created. */
    int (*delete_experiment)(struct xp_adapter *a,
                             const struct xp_experiment_ref *ref);

    /* The options this adapter reads (see struct xp_option_decl), ended
     * by an entry with a NULL key; NULL when it reads none. */
    const struct xp_option_decl *options;
    /* What a command reads when it names this adapter but no source
     * (`xport download --from mldash -o DIR`), for --help: NULL when the
     * adapter needs a source. The workspace comes from the options flagged
     * XP_OPT_NAMES_SOURCE (xp_location_default), else the adapter picks
     * it in open. */
    const char *default_source;
    /* Optional (ABI 5), for a destination published whole at the end of a
     * run (an archive, adapters/local/archive.c): xp_copy calls it once
     * every experiment is done, ok != 0 when the run carried them all.
     * With ok it publishes (its failure fails the run); without, it leaves
     * nothing under the destination's name. */
    int (*publish)(struct xp_adapter *a, int ok);
    /* Optional (ABI 6), all three or none: xport's own state kept at the
     * destination beside its data, where every machine writing to it finds
     * it (the s3 adapter: objects PREFIX/.xport/NAME, which its listing
     * and reader ignore). The CLI keeps the journal of a copy into such a
     * destination there (cmd/journal_remote.c). NAME is one file name
     * that xp_segment_safe accepts ("journal-1a2b3c-2-of-4.jsonl").
     * state_get writes NAME's content into local_path (atomically), or
     * returns XP_ENOTFOUND when the destination holds no NAME; state_put
     * stores the content of local_path as NAME whole, replacing any older
     * one at once (a reader sees the old or the new, never a mix), and
     * checks that it arrived intact; state_list calls cb once per NAME
     * held (a non-zero return stops it and is returned). An adapter with
     * these may declare the XP_OPT_INT option "journal-interval": the
     * seconds between two pushes of a journal that grew. */
    int (*state_get)(struct xp_adapter *a, const char *name, const char *local_path);
    int (*state_put)(struct xp_adapter *a, const char *name, const char *local_path);
    int (*state_list)(struct xp_adapter *a, xp_state_cb cb, void *payload);
};

/* ---- registry (core/registry.c) ---------------------------------------- */

/* Find by name or alias; XP_ENOTFOUND with a message listing what exists. */
int xp_adapter_find(const struct xp_adapter_type **out, const char *name);
/* Register an adapter at run time (plugins); checks abi. */
int xp_adapter_register(const struct xp_adapter_type *type);
/* Iterate: returns NULL past the end. */
const struct xp_adapter_type *xp_adapter_at(size_t i);
/* Load every *.so in the colon-separated XPORT_PLUGIN_PATH. Each must export
 *   const struct xp_adapter_type *const *xport_plugin_adapters(unsigned *abi);
 * returning a NULL-terminated list and setting *abi to XP_ADAPTER_ABI. */
int xp_plugins_load(const char *path_list, struct xp_ctx *ctx);

/* Open an adapter for a location (parses nothing; see xp_location_parse). */
int xp_adapter_open(struct xp_adapter **out, const struct xp_location *loc,
                    const struct xp_options *opts, struct xp_ctx *ctx);
void xp_adapter_close(struct xp_adapter *a);

/* ---- dispatch (core/dispatch.c) ----------------------------------------- */

/* The only way the core and the CLI call an adapter, a reader or a sink: each
 * checks that the method exists and otherwise fails with XP_ENOTSUP and
 * "adapter 'X' cannot <do what>". Arguments are as for the methods above. */
int xp_adapter_list(struct xp_adapter *a, xp_experiment_cb cb, void *payload);
int xp_adapter_read(struct xp_reader **out, struct xp_adapter *a,
                    const struct xp_experiment_ref *ref, const struct xp_read_opts *ro);
int xp_adapter_write(struct xp_sink **out, struct xp_adapter *a,
                     const struct xp_experiment_meta *meta, const struct xp_write_opts *wo);
int xp_adapter_delete(struct xp_adapter *a, const struct xp_experiment_ref *ref);
/* State kept at the destination (the methods above): NAME is checked
 * with xp_segment_safe (XP_EINVALID naming it otherwise). */
int xp_adapter_state_get(struct xp_adapter *a, const char *name, const char *local_path);
int xp_adapter_state_put(struct xp_adapter *a, const char *name, const char *local_path);
int xp_adapter_state_list(struct xp_adapter *a, xp_state_cb cb, void *payload);
/* 1 when the type keeps state at its destination (all three methods). */
int xp_adapter_has_state(const struct xp_adapter_type *t);
/* 1 when the type can do `what` (one XP_CAP_* bit): READ, WRITE and
 * LIST_PROJECTS are derived from the methods present as well as the bits. */
int xp_adapter_can(const struct xp_adapter_type *t, unsigned what);

int xp_reader_next(struct xp_reader *r, const struct xp_record **out);
void xp_reader_free(struct xp_reader *r); /* NULL is a no-op */
int xp_sink_put(struct xp_sink *s, const struct xp_record *rec);
int xp_sink_finish(struct xp_sink *s, int commit);
void xp_sink_free(struct xp_sink *s);     /* NULL is a no-op */
/* 1 when the sink has the method and says the item is complete. */
int xp_sink_has_item(struct xp_sink *s, const char *key);
/* The sink's destination id, or NULL when it has none. */
const char *xp_sink_dest_id(struct xp_sink *s);

/* ---- helpers for adapter authors --------------------------------------- */

/* Does `name` match a selection pattern (glob with * ? [..] and {a,b}
 * {001..120} braces)? NULL pattern matches everything. */
int xp_pattern_match(const char *pattern, const char *name);
/* Does ref match the location's workspace/project/experiment patterns? */
int xp_location_selects(const struct xp_location *loc, const char *workspace,
                        const char *project, const char *experiment);

/* What every adapter reading files on disk takes from its location and
 * options, checked once: the path, which must exist (a folder, or a file
 * where the adapter takes one), the selection patterns, and the
 * allow-partial option when the adapter declares it. Ownership: sel owns
 * copies of the location's strings; xp_disk_source_release frees them. */
struct xp_disk_source {
    struct xp_location sel; /* path and patterns; adapter is NULL */
    int allow_partial;
};
enum { XP_DISK_DIR = 1u << 0, XP_DISK_FILE = 1u << 1 };
/* accept: XP_DISK_DIR and/or XP_DISK_FILE. XP_EINVALID without a path,
 * XP_ENOTFOUND when it is missing or of a kind not accepted. */
int xp_disk_source_init(struct xp_disk_source *s, const struct xp_adapter_type *t,
                        const struct xp_location *loc, const struct xp_options *opts,
                        unsigned accept);
void xp_disk_source_release(struct xp_disk_source *s);

/* The instance of an adapter reading files on disk starts with this (as
 * its first member): xp_disk_adapter_new checks the source as
 * xp_disk_source_init does and allocates size bytes (the adapter's whole
 * struct, zeroed) with base and src set; *out is NULL on failure.
 * xp_disk_adapter_close releases src and the struct, and serves as the
 * close method of an adapter that holds nothing else. */
struct xp_disk_adapter {
    struct xp_adapter base;
    struct xp_disk_source src;
};
int xp_disk_adapter_new(struct xp_disk_adapter **out, size_t size,
                        const struct xp_adapter_type *t, const struct xp_location *loc,
                        const struct xp_options *opts, struct xp_ctx *ctx, unsigned accept);
void xp_disk_adapter_close(struct xp_adapter *a);

struct xp_buf;
/* What a reader could not carry, as one "; "-separated text in lost. */
void xp_lost_add(struct xp_buf *lost, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* At a run's end: 0 when lost is empty; else XP_EINVALID "run NAME in WHERE
 * is incomplete: ..." unless allow_partial, which makes it a warning and 0. */
int xp_lost_finish(const struct xp_ctx *ctx, const struct xp_buf *lost,
                   const char *name, const char *where, int allow_partial);

#endif
