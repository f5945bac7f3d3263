/* A directory written in a staging folder, ROOT/.xport/staging/<key>, and
 * moved into place with one rename, so a reader never sees it half done.
 * The key is a hash of the final path: a rerun finds and clears (or, when
 * resuming, reuses) the debris of an interrupted attempt. The caller owns
 * the struct and releases it with xp_stage_release. */
#ifndef XPORT_STAGE_H
#define XPORT_STAGE_H

#include <stdint.h>

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

/* The items log of a staging folder (XP_STAGE_ITEMS in it): one line per
 * complete series or file, naming the files it is made of with their size
 * and SHA-256, fsynced as each item completes. A resumed attempt keeps an
 * item only while every one of its files is there as recorded. */
#define XP_STAGE_ITEMS ".items.jsonl"

struct xp_stage_part {
    const char *rel;    /* relative to the staging folder */
    int64_t size;       /* with sha256; ignored when sha256 is NULL */
    const char *sha256; /* hex, or NULL to read the file and compute both */
};

struct json_object;
struct xp_stage_items {
    int fd;
    char *dir;
    struct json_object *keys; /* key -> null */
};

/* Open st's items log. resume: keep the items of an earlier attempt whose
 * files are all there with their recorded size and digest, and rewrite the
 * log without the others (nor lines that record no files): those are
 * fetched again. Without resume the log starts empty. */
int xp_stage_items_open(struct xp_stage_items *it, const struct xp_stage *st,
                        int resume);
/* Record an item complete; manifest (JSON text, or NULL) is kept with it
 * under "manifest". */
int xp_stage_item_done(struct xp_stage_items *it, const char *key,
                       const struct xp_stage_part *parts, size_t nparts,
                       const char *manifest);
int xp_stage_item_has(const struct xp_stage_items *it, const char *key);
void xp_stage_items_close(struct xp_stage_items *it);

#endif
