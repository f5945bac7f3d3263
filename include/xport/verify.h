/* xp_verify: compare two locations experiment by experiment: metadata,
 * documents, every point of every series bit for bit, logs, and file
 * contents. Differences are reported as lines through a callback. Both
 * adapters are borrowed. */
#ifndef XPORT_VERIFY_H
#define XPORT_VERIFY_H

#include "sys/adapter.h"

struct xp_verify_opts {
    unsigned resources; /* 0 = all */
    void (*diff)(void *payload, const char *line);
    void *payload;
    int quick; /* do not re-read differing series to name the first point */
    /* Where a copy into B puts A's experiments: B's location's workspace
     * and project (NULL: A's own). `xport copy L wandb:ent/proj` places
     * every experiment of L under ent/proj, so verify pairs them there. */
    const char *b_workspace, *b_project;
    int no_readahead; /* decode on the hashing thread only (XPORT_NO_READAHEAD) */
};

/* Returns 0 when the two are equal, XP_EINVALID when they differ (with
 * *ndiff set), or another XP_E* when one side could not be read. */
int xp_verify(struct xp_adapter *a, struct xp_adapter *b,
              const struct xp_verify_opts *o, long *ndiff);

/* Compare one experiment of a with one of b (both by reference); the same
 * returns as xp_verify. */
int xp_verify_experiment(struct xp_adapter *a, const struct xp_experiment_ref *ra,
                         struct xp_adapter *b, const struct xp_experiment_ref *rb,
                         const struct xp_verify_opts *o, long *ndiff);

#endif
