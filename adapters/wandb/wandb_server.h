/* The `wandb` adapter: a W&B server (cloud or self-hosted) read through its
 * GraphQL API and written through UpsertBucket, file_stream and run file
 * uploads. wandb_server.c opens the adapter and lists runs;
 * wandb_server_read.c reads one run; wandb_server_write.c writes one.
 *
 * Ownership: struct ws_adapter belongs to the core (xp_adapter_close);
 * readers and sinks borrow it. */
#ifndef XPORT_WANDB_SERVER_H
#define XPORT_WANDB_SERVER_H

#include "xport/sys/adapter.h"
#include "wandb_api.h"

struct ws_adapter {
    struct xp_adapter base;
    struct wapi api;
    char *entity_pat, *project_pat, *run_pat;
    const char *filters;    /* option "filters": a runs filter (JSON) */
    const char *order;      /* option "order" */
    int history_page;       /* rows per history request */
    int per_page;           /* projects, runs, files, artifacts per page */
    int log_page;           /* console lines per logLines request */
};

int ws_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                       const struct xp_experiment_ref *ref,
                       const struct xp_read_opts *ro);
int ws_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                        const struct xp_experiment_meta *meta,
                        const struct xp_write_opts *wo);

/* Map a W&B run state to an xport status, and back to an exit code. */
const char *ws_status_of_state(const char *state);

#endif
