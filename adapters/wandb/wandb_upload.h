/* Uploads to a W&B server: PUT of a local file to a presigned URL with the
 * server's upload headers (wandb.md §2.3), and one run file through
 * createRunFiles + PUT. Shared by the run writer (run files, xport's own
 * files) and the artifact writer.
 *
 * Ownership: everything is borrowed for the call. */
#ifndef XPORT_WANDB_UPLOAD_H
#define XPORT_WANDB_UPLOAD_H

#include "wandb_api.h"

struct json_object;

/* PUT the file at path to url (presigned: the API key is never sent).
 * headers (may be NULL) is the server's uploadHeaders array of "Key:Value"
 * strings, split on the first colon. what names the upload in messages. */
int wup_put(struct wapi *api, const char *url, struct json_object *headers,
            const char *path, const char *what);

/* Store the file at path as run file name of entity/project/run. */
int wup_run_file(struct wapi *api, const char *entity, const char *project,
                 const char *run, const char *name, const char *path);

#endif
