/* xport list and xport adapters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "opt.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/json.h"
#include "xport/location.h"
#include "xport/sys/http.h"

struct list_state {
    int json;
    long count;
};

static int print_ref(const struct xp_experiment_ref *ref, void *payload)
{
    struct list_state *st = payload;
    st->count++;
    if (st->json) {
        struct xp_buf b = XP_BUF_INIT;
        xp_buf_puts(&b, "{\"workspace\":");
        xp_json_put_str(&b, ref->workspace, strlen(ref->workspace), NULL);
        xp_buf_puts(&b, ",\"project\":");
        xp_json_put_str(&b, ref->project, strlen(ref->project), NULL);
        xp_buf_puts(&b, ",\"name\":");
        xp_json_put_str(&b, ref->name, strlen(ref->name), NULL);
        xp_buf_puts(&b, "}\n");
        fputs(b.ptr, stdout);
        xp_buf_release(&b);
    } else {
        printf("%s/%s/%s\n", ref->workspace, ref->project, ref->name);
    }
    return 0;
}

int cmd_list(int argc, char **argv)
{
    const char *workspace = NULL, *project = NULL, *experiment = NULL;
    struct access_args acc = {0};
    int json = 0;
    const struct opt opts[] = {
        OPT_GROUP_MARK("selection"),
        {OPT_STRING, 0, "workspace", &workspace, "PATTERN", "only matching workspaces"},
        {OPT_STRING, 0, "project", &project, "PATTERN", "only matching projects"},
        {OPT_STRING, 0, "experiment", &experiment, "PATTERN", "only matching experiments"},
        OPT_GROUP_MARK("vendor access"),
        ACCESS_OPTS(acc),
        OPT_GROUP_MARK("output"),
        {OPT_BOOL, 0, "json", &json, NULL, "one JSON object per line"},
        OPT_END_MARK,
    };
    const struct cmd_usage u = {"xport list", "LOCATION",
                                "List the experiments at a location.", NULL};
    const char *pos[2];
    size_t npos;
    int r = opt_parse(opts, &u, argc, argv, pos, 2, &npos);
    if (r)
        return r > 0 ? 0 : XP_EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "error: list needs one LOCATION\nusage: %s %s\n", u.name,
                u.synopsis);
        free(acc.api_key);
        return XP_EXIT_USAGE;
    }
    struct xp_location loc;
    int rc = xp_location_parse(&loc, pos[0]);
    if (rc) {
        print_error(rc);
        free(acc.api_key);
        return XP_EXIT_USAGE;
    }
    if (workspace) {
        free(loc.workspace);
        loc.workspace = xp_strdup(workspace);
    }
    if (project) {
        free(loc.project);
        loc.project = xp_strdup(project);
    }
    if (experiment) {
        free(loc.experiment);
        loc.experiment = xp_strdup(experiment);
    }
    const struct xp_location *locs[1] = {&loc};
    const struct xp_adapter_type *types[1];
    struct adapter_options ao;
    if (adapter_types(types, locs, 1) || adapter_options_build(&ao, types, 1, &acc, NULL, 0)) {
        xp_location_release(&loc);
        free(acc.api_key);
        return XP_EXIT_USAGE;
    }
    struct xp_ctx ctx;
    cmd_ctx_init(&ctx, 0, 0);
    struct xp_adapter *a = NULL;
    struct list_state st = {json, 0};
    struct xp_http *http = NULL;
    struct cmd_http_opts ho = {0, -1, 0, NULL, NULL, 0};
    if (cmd_http_new(&http, &ho, &ctx)) {
        adapter_options_release(&ao, 1);
        xp_location_release(&loc);
        free(acc.api_key);
        return XP_EXIT_ERROR;
    }
    rc = xp_adapter_open(&a, &loc, &ao.o, &ctx);
    if (!rc)
        rc = xp_adapter_list(a, print_ref, &st);
    if (rc)
        print_error(rc);
    xp_adapter_close(a);
    xp_location_release(&loc);
    xp_http_free(http);
    adapter_options_release(&ao, 1);
    free(acc.api_key);
    return rc ? xp_exit_code(rc) : 0;
}

int cmd_adapters(int argc, char **argv)
{
    const struct opt opts[] = {OPT_END_MARK};
    const struct cmd_usage u = {"xport adapters", "[ADAPTER]",
                                "List the adapters and what they can do; with ADAPTER, "
                                "the options it reads and what it reads without a "
                                "SOURCE.", NULL};
    const char *pos[1];
    size_t npos;
    int r = opt_parse(opts, &u, argc, argv, pos, 1, &npos);
    if (r)
        return r > 0 ? 0 : XP_EXIT_USAGE;
    const struct xp_adapter_type *t;
    if (npos) {
        int rc = xp_adapter_find(&t, pos[0]);
        if (rc) {
            print_error(rc);
            return XP_EXIT_USAGE;
        }
        adapter_describe(stdout, t);
        return 0;
    }
    for (size_t i = 0; (t = xp_adapter_at(i)); i++)
        printf("%-14s %-5s %-5s %s\n", t->name,
               t->open && xp_adapter_can(t, XP_CAP_READ) ? "read" : "-",
               t->open && xp_adapter_can(t, XP_CAP_WRITE) ? "write" : "-", t->summary);
    return 0;
}
