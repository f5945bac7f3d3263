/* Private to the local adapter: the xport layout on disk and the ml-dash
 * local stores it can also read. The adapter instance owns every string in
 * it; refs handed to callbacks are borrowed for the call. */
#ifndef XPORT_LOCAL_H
#define XPORT_LOCAL_H

#include <pthread.h>

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
};

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
