/* A directory written in a staging folder, ROOT/.xport/staging/<key>, and
 * moved into place with one rename, so a reader never sees it half done.
 * The key is a hash of the final path: a rerun finds and clears (or, when
 * resuming, reuses) the debris of an interrupted attempt. The caller owns
 * the struct and releases it with xp_stage_release. */
#ifndef XPORT_STAGE_H
#define XPORT_STAGE_H

struct xp_stage {
    char *final_dir;
    char *dir; /* the staging folder */
};

/* keep != 0 reuses an existing staging folder; else it starts empty. */
int xp_stage_open(struct xp_stage *st, const char *root, const char *final_dir,
                  int keep);
/* Move the staging folder to final_dir. An existing final_dir is moved aside
 * first and removed only once the new one is in (put back on failure). */
int xp_stage_publish(struct xp_stage *st);
/* Free the struct; remove != 0 also deletes what is left in staging. */
void xp_stage_release(struct xp_stage *st, int remove);

#endif
