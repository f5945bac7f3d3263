/* The mldash-local writer: ml-dash local stores written from layouts,
 * checked against the facts of the real ml-dash SDK's store
 * (tests/mldash/store_shape.py) and keeping the source's times. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "../../adapters/mldash/mldash.h"
#include "../local/gen_layout.h"

#define xport tu_xport

static void test_mldash_local(void **st)
{
    (void)st;
    char *dir = tu_mkdtemp();
    struct xp_buf lay = XP_BUF_INIT, dash = XP_BUF_INIT, dash2 = XP_BUF_INIT;
    xp_buf_printf(&lay, "%s/lay", dir);
    xp_buf_printf(&dash, "%s/out/.dash", dir);
    xp_buf_printf(&dash2, "mldash-local:%s", dash.ptr);
    char *fx = tu_src("tests/fixtures/mldash/v0.6.27-local-store");
    const char *c1[] = {"copy", fx, lay.ptr, "-q", NULL};
    assert_int_equal(xport(NULL, c1), 0);
    /* a second experiment whose every name would escape the root verbatim */
    assert_int_equal(tu_sh("cp -r %s/tom/my-project/exp1 %s/tom/my-project/evil && "
                           "sed -i 's|\"name\":\"exp1\"|\"name\":\"../../../x\"|; "
                           "s|\"folder\":\"[^\"]*\"|\"folder\":\"../..\"|' "
                           "%s/tom/my-project/evil/experiment.json && "
                           "grep -q '\"name\":\"../../../x\"' "
                           "%s/tom/my-project/evil/experiment.json",
                           lay.ptr, lay.ptr, lay.ptr, lay.ptr), 0);
    const char *c2[] = {"copy", lay.ptr, dash2.ptr, "-q", NULL};
    assert_int_equal(xport(NULL, c2), 0);
    /* the local adapter sees an ml-dash v0.6 store equal to the layout */
    const char *vf[] = {"verify", lay.ptr, dash.ptr, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    /* nothing outside the store; the unsafe names are single segments */
    assert_int_equal(tu_sh("cd %s && test \"$(ls -A | tr '\\n' ' ')\" = 'lay out ' && "
                           "test \"$(ls -A out | tr '\\n' ' ')\" = '.dash ' && "
                           "test \"$(ls -A out/.dash | tr '\\n' ' ')\" = '.xport tom ' && "
                           "test \"$(ls -A out/.dash/tom | tr '\\n' ' ')\" = 'my-project '",
                           dir), 0);
    struct xp_buf enc = XP_BUF_INIT, dots = XP_BUF_INIT;
    assert_int_equal(xp_name_encode(&enc, "../../../x"), 0);
    assert_int_equal(xp_name_encode(&dots, ".."), 0);
    assert_int_equal(tu_sh("test -f '%s/tom/my-project/%s/%s/%s/experiment.json'",
                           dash.ptr, dots.ptr, dots.ptr, enc.ptr), 0);
    xp_buf_release(&dots);
    /* the same files and keys as the store ml-dash v0.6.27 wrote */
    char *shape = tu_src("tests/mldash/store_shape.py");
    assert_int_equal(tu_sh("%s %s %s/tom/my-project/experiments/exp1 "
                           "%s/tom/my-project/experiments/exp1", XPORT_PYTHON, shape, fx,
                           dash.ptr), 0);
    /* what the SDK v0.6.27 relies on (store_shape.py --facts says what) */
    assert_int_equal(tu_sh("%s %s --facts %s", XPORT_PYTHON, shape, dash.ptr), 0);
    /* a rerun skips what is there; --overwrite replaces it in one move */
    assert_int_equal(xport(NULL, c2), 0);
    const char *c3[] = {"copy", lay.ptr, dash2.ptr, "-q", "--overwrite", NULL};
    assert_int_equal(xport(NULL, c3), 0);
    assert_int_equal(xport(NULL, vf), 0);
    /* no xport marker left, no experiment.json under .xport (the SDK's
     * upload globs dot folders too) */
    assert_int_equal(tu_sh("%s %s --facts %s", XPORT_PYTHON, shape, dash.ptr), 0);
    free(shape);
    free(fx);
    xp_buf_release(&enc);
    xp_buf_release(&lay);
    xp_buf_release(&dash);
    xp_buf_release(&dash2);
    tu_rmtree(dir);
    free(dir);
}

/* ---- mldash-local keeps a v0.5 store's times and folder (issue 19) ---- */

static void test_mldash_local_v05_times(void **st)
{
    (void)st;
    char *dir = tu_mkdtemp();
    char *fx = tu_src("tests/fixtures/mldash/v0.5.9-local-store");
    char *shape = tu_src("tests/mldash/store_shape.py");
    struct xp_buf dash = XP_BUF_INIT, dst = XP_BUF_INIT, lay = XP_BUF_INIT;
    xp_buf_printf(&dash, "%s/.dash", dir);
    xp_buf_printf(&dst, "mldash-local:%s", dash.ptr);
    xp_buf_printf(&lay, "%s/lay", dir);
    const char *c1[] = {"copy", fx, dst.ptr, "-q", NULL};
    assert_int_equal(xport(NULL, c1), 0);
    /* the metric's and the parameters' createdAt/updatedAt are the store's,
     * not the time of the copy */
    assert_int_equal(tu_sh("cd %s/experiments/2024/my-project/exp1 && %s -c 'import json, "
                           "sys\nfor f in (\"parameters.json\", \"metrics/loss/metadata.json\"):"
                           "\n    a, b = (json.load(open(d + f)) for d in (\"\", sys.argv[1]))"
                           "\n    for k in (\"createdAt\", \"updatedAt\"):"
                           "\n        assert a[k] and a[k] == b[k], (f, k, a[k], b[k])' "
                           "%s/local/my-project/experiments/2024/exp1/ && "
                           "grep -q '\"folder\":\"/experiments/2024\"' "
                           "%s/local/my-project/experiments/2024/exp1/experiment.json",
                           fx, XPORT_PYTHON, dash.ptr, dash.ptr), 0);
    assert_int_equal(tu_sh("%s %s --facts %s", XPORT_PYTHON, shape, dash.ptr), 0);
    /* read back, the folder is the store's "/experiments/2024", not
     * "experiments/2024": verify says equal */
    const char *vf[] = {"verify", fx, dash.ptr, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    const char *c2[] = {"copy", dash.ptr, lay.ptr, "-q", NULL};
    assert_int_equal(xport(NULL, c2), 0);
    assert_int_equal(tu_sh("grep -q '\"folder\":\"/experiments/2024\"' "
                           "%s/local/my-project/exp1/experiment.json", lay.ptr), 0);
    free(fx);
    free(shape);
    xp_buf_release(&dash);
    xp_buf_release(&dst);
    xp_buf_release(&lay);
    tu_rmtree(dir);
    free(dir);
}

/* ---- mldash-local: the names and values the ml-dash SDK v0.6.27 reads ---- */

static void test_mldash_local_sdk_facts(void **st)
{
    (void)st;
    char *dir = tu_mkdtemp();
    char *shape = tu_src("tests/mldash/store_shape.py");
    struct xp_buf lay = XP_BUF_INIT, dash = XP_BUF_INIT, dst = XP_BUF_INIT;
    xp_buf_printf(&lay, "%s/awkward", dir);
    xp_buf_printf(&dash, "%s/.dash", dir);
    xp_buf_printf(&dst, "mldash-local:%s", dash.ptr);
    assert_int_equal(tu_sh("%s %s --awkward-layout %s", XPORT_PYTHON, shape, lay.ptr), 0);
    const char *c1[] = {"copy", lay.ptr, dst.ptr, "-q", NULL};
    assert_int_equal(xport(NULL, c1), 0);
    assert_int_equal(tu_sh("%s %s --facts %s", XPORT_PYTHON, shape, dash.ptr), 0);
    /* read back by the local adapter: equal, every name decoded */
    const char *vf[] = {"verify", lay.ptr, dash.ptr, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    /* names ml-dash could write are verbatim ("prefix" is the path, which
     * the SDK joins to the root); "train/loss" nests as the SDK nests it;
     * the rest are single encoded segments */
    assert_int_equal(tu_sh("cd %s && E='tom/awk proj/sweeps/lr:0.1/run:1 \303\274n\303\257' && "
                           "grep -q '\"prefix\":\"'\"$E\"'\"' \"$E/experiment.json\" && "
                           "test -f \"$E/metrics/train/loss/metadata.json\" && "
                           "test -f \"$E/metrics/train/data.jsonl\" && "
                           "test -f \"$E/metrics/a:b?c 100%%/data.jsonl\" && "
                           "test -f \"$E/tracks/robot_pos/data.jsonl\" && "
                           "grep -q '\"path\":\"/models\"' \"$E/files/.files_metadata.json\" && "
                           "grep -q '\"path\":\"/\"' \"$E/files/.files_metadata.json\" && "
                           "X='tom/awk proj/%%2E.%%2F..%%2F..%%2Fescape' && "
                           "test -f \"$X/metrics/%%2E%%2E/data.jsonl\" && "
                           "test -f \"$X/metrics/x%%2F..%%2Fy/data.jsonl\" && "
                           "test -f \"$X/metrics/%%252Fenc/data.jsonl\" && "
                           "test -f '%%2Ehidden ws/p%%2Fq/a/%%2E%%2E/b/%%41/%%2E./experiment.json' && "
                           "test \"$(LC_ALL=C ls -A | tr '\\n' ' ')\" = '%%2Ehidden ws .xport alice tom '",
                           dash.ptr), 0);
    /* a line without timestamp or level stays without (upload sends level
     * "info" for it), and the next sequence number is above all */
    assert_int_equal(tu_sh("cd '%s/%%2Ehidden ws/p%%2Fq/a/%%2E%%2E/b/%%41/%%2E.' && "
                           "grep -qx '{\"sequenceNumber\":7,\"message\":\"no level, no "
                           "time\"}' logs/logs.jsonl && test \"$(cat logs/.log_sequence)\" = 8",
                           dash.ptr), 0);
    /* the SDK writes "a/b" as metrics/a/b (below metric "a"): read it */
    char *fx = tu_src("tests/fixtures/mldash/v0.6.27-local-store");
    assert_int_equal(tu_sh("cp -r %s %s/sdk && cd %s/sdk/tom/my-project/experiments/exp1/metrics && "
                           "mkdir loss/sub && printf '%%s\\n' '{\"index\": 0, \"data\": "
                           "{\"value\": 1.5}, \"createdAt\": \"2026-01-01T00:00:00Z\"}' "
                           ">loss/sub/data.jsonl && printf '%%s' '{\"metricId\": "
                           "\"local-metric-loss/sub\", \"name\": \"loss/sub\", \"description\": "
                           "null, \"tags\": [], \"metadata\": null, \"totalDataPoints\": 1, "
                           "\"nextIndex\": 1}' >loss/sub/metadata.json", fx, dir, dir), 0);
    struct xp_buf sdk = XP_BUF_INIT, lay2 = XP_BUF_INIT;
    xp_buf_printf(&sdk, "%s/sdk", dir);
    xp_buf_printf(&lay2, "%s/lay2", dir);
    const char *c2[] = {"copy", sdk.ptr, lay2.ptr, "-q", NULL};
    assert_int_equal(xport(NULL, c2), 0);
    assert_int_equal(tu_sh("grep -q '\"value\":1.5' %s/tom/my-project/exp1/metrics/loss%%2Fsub/"
                           "data.jsonl", lay2.ptr), 0);
    const char *vf2[] = {"verify", sdk.ptr, lay2.ptr, NULL};
    assert_int_equal(xport(NULL, vf2), 0);
    free(fx);
    free(shape);
    xp_buf_release(&sdk);
    xp_buf_release(&lay2);
    xp_buf_release(&lay);
    xp_buf_release(&dash);
    xp_buf_release(&dst);
    tu_rmtree(dir);
    free(dir);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mldash_local),
        cmocka_unit_test(test_mldash_local_sdk_facts),
        cmocka_unit_test(test_mldash_local_v05_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
