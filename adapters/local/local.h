/* Private to the local adapter: the xport layout on disk and the ml-dash
 * local stores it can also read. The adapter instance owns every string in
 * it; refs handed to callbacks are borrowed for the call. */
#ifndef XPORT_LOCAL_H
#define XPORT_LOCAL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "xport/buf.h"
#include "xport/sys/adapter.h"

#define XP_LAYOUT_FORMAT "xport-layout"
#define XP_LAYOUT_VERSION 1

enum local_flavor {
    LOCAL_XPORT = 1,  /* ROOT/xport.json, ROOT/ws/project/experiment */
    LOCAL_MLDASH_05,  /* .ml-dash: [folder/]project/experiment */
    LOCAL_MLDASH_06   /* .dash: owner/project/folders.../experiment */
};

struct local_adapter {
    struct xp_adapter base;
    char *root;
    enum local_flavor flavor;
    const struct xp_location *loc; /* borrowed from the caller of open */
    struct xp_location sel;        /* owned copy of the selection */
    char *default_workspace;       /* for ml-dash 0.5 stores */
    /* experiments being written now, so that two parallel writers of
     * same-named experiments never pick the same directory */
    pthread_mutex_t lock;
    struct json_object *claimed; /* final dir -> source id */
    /* an archive's staging layout (archive.c, which owns it): experiments
     * already moved on into the archive, final dir -> source id; they
     * count as there, as if still on disk. NULL otherwise */
    struct json_object *placed;
    /* an archive (archive.c): the layout read is in it, or written into
     * a staged folder that becomes it; NULL for a folder */
    struct arc_index *arc;
    struct arc_writer *arcw;
};

/* local_fs.c: the reader's and listing's file access, on disk or in la->arc */
struct arc_index;
struct arc_writer;
struct xp_fd_stream;
int lfs_is_file(const struct local_adapter *la, const char *path);
int lfs_is_dir(const struct local_adapter *la, const char *path);
int lfs_is_real_dir(const struct local_adapter *la, const char *path); /* no symlink */
int lfs_list_dir(const struct local_adapter *la, char ***out, size_t *n, const char *path);
int64_t lfs_size(const struct local_adapter *la, const char *path); /* -1: no file */
int lfs_read_json(const struct local_adapter *la, struct json_object **out,
                  const char *path);
FILE *lfs_fopen(const struct local_adapter *la, const char *path);
/* A file's bytes: fds given the descriptor on disk, or a new stream */
int lfs_open_body(const struct local_adapter *la, const char *path,
                  struct xp_fd_stream *fds, struct xp_stream **out);

/* local.c: an instance on loc->path with nothing read yet, and its end */
int local_adapter_new(struct local_adapter **out, const struct xp_adapter_type *type,
                      const struct xp_location *loc, const struct xp_options *opts,
                      struct xp_ctx *ctx);
void local_adapter_free(struct local_adapter *la);

/* layout_writer.c */
int local_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                           const struct xp_experiment_meta *meta,
                           const struct xp_write_opts *wo);
/* Encoded directory of an experiment relative to root: "ws/proj/exp". */
int local_experiment_relpath(struct xp_buf *out, const char *ws,
                             const char *proj, const char *name);

/* layout_reader.c: reads an experiment directory of any flavor. */
int local_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                          const struct xp_experiment_ref *ref,
                          const struct xp_read_opts *ro);

/* discover.c: discovery of experiments in ml-dash stores, and the
 * experiment-level names for a directory of any flavor. */
int local_list_experiments(struct xp_adapter *a, xp_experiment_cb cb,
                           void *payload);
struct experiment_names {
    char *workspace, *project, *name, *folder;
    char *relpath; /* of the directory under the root */
};
int local_experiment_names(struct experiment_names *out,
                           const struct local_adapter *la, const char *dir,
                           struct json_object *exp_json);
void local_experiment_names_release(struct experiment_names *n);

#endif
