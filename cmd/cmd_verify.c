/* xport verify A B */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "opt.h"
#include "xport/error.h"
#include "xport/location.h"
#include "xport/sys/http.h"
#include "xport/verify.h"

static void print_diff(void *payload, const char *line)
{
    (void)payload;
    printf("%s\n", line);
}

int cmd_verify(int argc, char **argv)
{
    struct access_args acc = {0};
    struct opt_list ignore = {{0}, 0};
    int allow_partial = 0;
    const struct opt opts[] = {
        OPT_GROUP_MARK("selection"),
        {OPT_LIST, 0, "ignore", &ignore, "RESOURCE", "leave a resource out of the comparison"},
        {OPT_BOOL, 0, "allow-partial", &allow_partial, NULL,
         "read sources with damaged parts (what was lost is still reported)"},
        OPT_GROUP_MARK("vendor access"),
        ACCESS_OPTS(acc),
        OPT_END_MARK,
    };
    const struct cmd_usage u = {
        "xport verify", "A B",
        "Compare two locations experiment by experiment: metadata, parameters, "
        "every metric point bit for bit, logs and file checksums. When B names "
        "a workspace or project (wandb:ENT/PROJ), A's experiments are looked "
        "for there, where 'xport copy A B' puts them. Exits 0 only when they "
        "are equal.", NULL};
    const char *pos[2];
    size_t npos;
    int r = opt_parse(opts, &u, argc, argv, pos, 2, &npos);
    if (r)
        return r > 0 ? 0 : XP_EXIT_USAGE;
    if (npos != 2) {
        fprintf(stderr, "error: verify needs A and B\nusage: %s %s\n", u.name, u.synopsis);
        free(acc.api_key);
        return XP_EXIT_USAGE;
    }
    unsigned res = XP_RES_ALL;
    for (size_t i = 0; i < ignore.n; i++) {
        unsigned x = xp_resource_parse(ignore.v[i]);
        if (!x) {
            opt_error(&u, "--ignore", "needs a resource (parameters, metrics, logs, "
                      "files, others, system, artifacts), not '%s'", ignore.v[i]);
            free(acc.api_key);
            return XP_EXIT_USAGE;
        }
        res &= ~x;
    }
    struct xp_location la, lb;
    int rc = xp_location_parse(&la, pos[0]);
    if (!rc && (rc = xp_location_parse(&lb, pos[1])))
        xp_location_release(&la);
    if (rc) {
        print_error(rc);
        free(acc.api_key);
        return XP_EXIT_USAGE;
    }
    const struct xp_location *locs[2] = {&la, &lb};
    const struct xp_adapter_type *types[2];
    struct adapter_options ao[2];
    const struct xp_kv extra[] = {{"allow-partial", "1"}};
    if (adapter_types(types, locs, 2) ||
        adapter_options_build(ao, types, 2, &acc, extra, allow_partial ? 1 : 0)) {
        xp_location_release(&la);
        xp_location_release(&lb);
        free(acc.api_key);
        return XP_EXIT_USAGE;
    }
    struct xp_ctx ctx;
    cmd_ctx_init(&ctx, 0, 0);
    struct xp_http *http = NULL;
    struct cmd_http_opts ho = {0, -1, 0, NULL, NULL, 0};
    if (cmd_http_new(&http, &ho, &ctx)) {
        adapter_options_release(ao, 2);
        xp_location_release(&la);
        xp_location_release(&lb);
        free(acc.api_key);
        return XP_EXIT_ERROR;
    }
    struct xp_adapter *a = NULL, *b = NULL;
    long ndiff = 0;
    rc = xp_adapter_open(&a, &la, &ao[0].o, &ctx);
    if (!rc)
        rc = xp_adapter_open(&b, &lb, &ao[1].o, &ctx);
    if (!rc) {
        struct xp_verify_opts vo = {res, print_diff, NULL, 0, lb.workspace, lb.project,
                                    getenv("XPORT_NO_READAHEAD") != NULL};
        rc = xp_verify(a, b, &vo, &ndiff);
    }
    int code = 0;
    if (rc && ndiff) {
        printf("%ld difference(s)\n", ndiff);
        code = XP_EXIT_ERROR;
    } else if (rc) {
        print_error(rc);
        code = xp_exit_code(rc);
    } else {
        printf("equal\n");
    }
    xp_adapter_close(a);
    xp_adapter_close(b);
    xp_location_release(&la);
    xp_location_release(&lb);
    xp_http_free(http);
    adapter_options_release(ao, 2);
    free(acc.api_key);
    return code;
}
