/* The comet-offline adapter (read side): <experiment_key>.zip archives that
 * comet_ml's OfflineExperiment writes (experiment.json, messages.json and
 * the uploaded files under temporary names; adapters/comet/README.md). PATH
 * is one archive or a folder of them; written archives go into the folder
 * PATH (comet_offline_write.c). The archive is checked and unpacked
 * by core/zip.c into a private temporary folder; messages.json becomes the
 * experiment's records. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/zip.h"



static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && !strcmp(s + n - m, suf);
}

/* ---- listing ------------------------------------------------------------- */

static int zip_text(struct xp_zip *z, const char *entry, struct xp_buf *out, size_t max,
                    const char *zip)
{
    size_t i;
    int rc = xp_zip_find(z, entry, &i);
    if (rc)
        return xp_error_set(XP_EINVALID, "'%s' has no %s: not a Comet offline archive",
                            zip, entry);
    return xp_zip_read(z, i, out, max);
}

static int list_zip(struct comet_offline_adapter *a, const char *zip, xp_experiment_cb cb,
                    void *payload)
{
    struct xp_zip *z = NULL;
    struct xp_buf ej = XP_BUF_INIT;
    struct comet_name_scan sc = COMET_NAME_SCAN_INIT;
    size_t mi;
    struct json_object *exp = NULL;
    struct comet_names nm = {0};
    int rc = xp_zip_open(&z, zip);
    if (!rc)
        rc = xp_zip_check(z, NULL);
    if (!rc)
        rc = zip_text(z, "experiment.json", &ej, (size_t)1 << 20, zip);
    if (!rc)
        rc = xp_json_parse(&exp, ej.ptr, ej.len, "experiment.json");
    /* the name: messages.json streamed, one line held at a time */
    if (!rc && xp_zip_find(z, "messages.json", &mi))
        rc = xp_error_set(XP_EINVALID, "'%s' has no messages.json: not a Comet offline archive",
                          zip);
    if (!rc)
        rc = xp_zip_read_chunks(z, mi, comet_offline_name_chunk, &sc);
    char *name = comet_offline_name_end(&sc);
    if (!rc)
        rc = comet_offline_names(&nm, exp, name, zip);
    else
        free(name);
    struct stat st;
    if (!rc) {
        struct xp_experiment_ref ref = {nm.ws, nm.proj, nm.name, zip,
                                        stat(zip, &st) == 0 ? (int64_t)st.st_size : -1};
        rc = cb(&ref, payload);
    } else {
        rc = xp_error_wrap(rc, "reading '%s'", zip);
    }
    (void)a;
    comet_names_release(&nm);
    json_object_put(exp);
    xp_buf_release(&ej);
    xp_zip_close(z);
    return rc;
}

static int co_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct comet_offline_adapter *a = (struct comet_offline_adapter *)base;
    if (!xp_is_dir(a->path)) {
        if (!xp_is_file(a->path))
            return xp_error_set(XP_ENOTFOUND, "no such file or folder '%s'", a->path);
        return list_zip(a, a->path, cb, payload);
    }
    char **names;
    size_t n;
    int rc = xp_list_dir(&names, &n, a->path);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!has_suffix(names[i], ".zip") || !xp_segment_safe(names[i]))
            continue;
        char *p = xp_path_join(a->path, names[i]);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
            rc = list_zip(a, p, cb, payload);
        free(p);
    }
    if (!rc || names)
        xp_strv_free(names);
    return rc;
}

/* ---- open / close -------------------------------------------------------- */

static void co_close(struct xp_adapter *base)
{
    struct comet_offline_adapter *a = (struct comet_offline_adapter *)base;
    if (!a)
        return;
    free(a->path);
    json_object_put(a->claimed);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static int co_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    (void)opts;
    *out = NULL;
    if (!loc->path || !*loc->path)
        return xp_error_set(XP_EINVALID, "adapter '%s' needs a path", type->name);
    struct comet_offline_adapter *a = xp_calloc(1, sizeof(*a));
    a->base.type = type;
    a->base.ctx = ctx;
    a->path = xp_strdup(loc->path);
    pthread_mutex_init(&a->lock, NULL);
    a->claimed = json_object_new_object();
    *out = &a->base;
    return 0;
}

const struct xp_adapter_type xp_comet_offline_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "comet-offline",
    .summary = "Comet OfflineExperiment archives (<experiment_key>.zip, read/write)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_NO_NETWORK,
    .open = co_open,
    .close = co_close,
    .list_experiments = co_list,
    .read_experiment = comet_offline_read,
    .write_experiment = comet_offline_write,
};
