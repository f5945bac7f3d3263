/* Writing a run's artifacts to a W&B server. The files of each artifact
 * (the layout's artifacts/<name:version>/<path>) are spooled to disk with
 * their MD5 as they arrive; at commit each artifact is saved with W&B's
 * artifact protocol (wandb.md §1.9; the SDK's core/pkg/artifacts/saver.go
 * and wandb/sdk/artifacts/artifact_saver.py):
 *
 *   CreateArtifact (digest of the manifest, deduplicated by the server:
 *     a COMMITTED answer means the same content is there already)
 *   CreateArtifactManifest (no upload yet) -> the manifest's id
 *   CreateArtifactFiles -> an upload URL per file not stored yet; PUT each
 *   CreateArtifactManifest (digest of wandb_manifest.json) -> PUT it
 *   CommitArtifact
 *
 * CreateArtifact names the run, which is what makes the artifact one of
 * the run's outputArtifacts. Name, type, aliases, description, metadata,
 * tags and history step come from the experiment's vendor object
 * ("artifacts": [{"name", "version", "type", "aliases", ...}], as the W&B
 * reader writes it).
 *
 * Ownership: the caller owns struct wart_set (wart_set_release, which
 * removes the spooled files); everything else is borrowed. */
#ifndef XPORT_WANDB_ARTIFACT_H
#define XPORT_WANDB_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "xport/sys/adapter.h"
#include "wandb_api.h"

struct json_object;

struct wart_file {
    char *path;   /* inside the artifact */
    char *tmp;    /* the spooled bytes */
    char md5[25]; /* base64, the manifest entry's digest */
    int64_t size;
    char *birth;  /* birthArtifactID from CreateArtifactFiles */
};

struct wart {
    char *label; /* "name:version" as the source has it */
    struct wart_file *files;
    size_t n, cap;
};

struct wart_set {
    struct wart *v;
    size_t n, cap;
    unsigned long seq;
};

/* Where the artifacts go, and who counts what cannot be kept. */
struct wart_target {
    struct wapi *api;
    const char *entity, *project, *run;
    struct json_object *vendor; /* the experiment's vendor object or NULL */
    struct xp_sink *sink;
    const struct xp_ctx *ctx;
};

void wart_set_init(struct wart_set *s);
/* Spool the body of artifact file m into dir. */
int wart_add(struct wart_set *s, const char *dir, const struct xp_file_meta *m,
             struct xp_stream *body);
/* Save every spooled artifact, in name and version order; dir holds the
 * manifests while they are uploaded. */
int wart_save_all(struct wart_set *s, const struct wart_target *t,
                  const char *dir);
void wart_set_release(struct wart_set *s);

#endif
