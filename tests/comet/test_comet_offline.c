/* The comet-offline adapter: archives written the way comet_ml's
 * OfflineExperiment writes them (tests/comet/make_fixtures.py) read
 * exactly, the legacy ws_msg form, through cometx and back, hostile
 * archives refused by the core zip checks, and archives written from every
 * kind of source read back the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"

static char *prefixed(const char *adapter, const char *path)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s:%s", adapter, path);
    return xp_buf_detach(&b);
}

static int xport(const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *argv[] = {a1, a2, a3, a4, NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run_xport(&out, &err, argv);
    if (rc)
        print_message("xport %s %s %s: %d\n%s\n%s\n", a1, a2, a3, rc, out, err);
    free(out);
    free(err);
    return rc;
}

static void read_exact(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_int_equal(ct_fixture("offline", dir, NULL), 0);
    char *dump, *err;
    tu_pass(ct_dump(&dump, &err, "comet-offline", dir));
    const char *want[] = {
        "EXP ws-one/proj-\xce\xb1/offline-\xc3\xa9 status=- desc=- "
        "start=2023-11-14T22:13:20.000Z end=2023-11-14T22:14:20.000Z "
        "src=comet:0fedcba98765432100fedcba98765432 tags=t1\n",
        "DOC parameters {\"layers\":[64,32],\"legacy_param\":\"x\",\"optimizer\":{\"lr\":0.001}}\n",
        "DOC others {\"legacy_other\":\"y\",\"note\":\"\xe2\x98\x83\"}\n",
        "SERIES metrics loss\n"
        "P 0 value=f:1e-300 step=i:0 epoch=i:0 timestamp=f:1700000000.0 offset=i:4\n"
        "P 1 value=f:-0.0 step=i:1 timestamp=f:1700000000.001 runContext=s:train offset=i:5\n"
        "P 2 value=f:5e-324 step=i:2 epoch=i:2 ",
        "P 3 value=f:1.7976931348623157e+308 timestamp=f:1700000000.003 offset=i:7\n",
        "P 4 value=f:0.30000000000000004 ",
        "P 5 value=f:9007199254740994.0 ",
        "P 6 value=f:1e-05 ",
        "P 7 value=f:NaN ",
        "P 8 value=f:Infinity ",
        "P 9 value=f:-Infinity ",
        "P 10 value=i:42 ",
        "SERIES metrics legacy\nP 0 value=f:2.5 step=i:7 epoch=i:0 ",
        "LOG 0 stream=stdout legacy out\n",
        "LOG 6 stream=stderr line 5\n",
        "LOG 546 stream=stdout last line without a newline\nFILE",
        "FILE weights.bin 444 ",
        "FILE image/sample.png 9 ",
        "FILE assets/html/experiment.html 9 ",
        "FILE run/graph_definition.txt ",
        "FILE run/requirements.txt ",
        "FILE run/git_metadata.json ",
        "FILE system_details.json ",
        NULL};
    for (int i = 0; want[i]; i++)
        assert_true(ct_has(dump, want[i]));
    assert_null(strstr(dump, "LOG 547 "));
    free(dump);
    free(err);
    tu_rmtree(dir);
    free(dir);
}

static void through_cometx_and_back(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *src = xp_path_join(dir, "src"), *l1 = xp_path_join(dir, "l1"),
         *cx = xp_path_join(dir, "cx"), *l2 = xp_path_join(dir, "l2");
    assert_int_equal(ct_fixture("offline", src, NULL), 0);
    char *psrc = prefixed("comet-offline", src), *pcx = prefixed("cometx", cx);
    assert_int_equal(xport("copy", "-q", psrc, l1), 0);
    assert_int_equal(xport("verify", psrc, l1, NULL), 0);
    assert_int_equal(xport("copy", "-q", l1, pcx), 0);
    assert_int_equal(xport("copy", "-q", pcx, l2), 0);
    assert_int_equal(xport("verify", l1, l2, NULL), 0);
    assert_int_equal(xport("verify", psrc, pcx, NULL), 0);
    /* streams and times of the output need the side file */
    struct xp_buf side = XP_BUF_INIT;
    xp_buf_printf(&side, "%s/ws-one/proj-\xce\xb1/0fedcba98765432100fedcba98765432/"
                         "run/xport_logs.jsonl", cx);
    assert_true(xp_is_file(side.ptr));
    xp_buf_release(&side);
    free(psrc);
    free(pcx);
    free(src);
    free(l1);
    free(cx);
    free(l2);
    tu_rmtree(dir);
    free(dir);
}

static void hostile_archives_refused(void **state)
{
    (void)state;
    const char *kinds[][2] = {{"name", "has an unsafe name; refusing it"},
                              {"slip", "has an unsafe name '../../evil.txt'"}};
    for (int i = 0; i < 2; i++) {
        char *dir = tu_mkdtemp();
        char *root = xp_path_join(dir, "a/b");
        assert_int_equal(ct_fixture("offline-hostile", root, kinds[i][0]), 0);
        char *dump, *err;
        int rc = ct_dump(&dump, &err, "comet-offline", root);
        assert_int_equal(rc, XP_EINVALID);
        assert_true(ct_has(err, kinds[i][1]));
        assert_null(strstr(dump, "FILE"));
        char *evil = xp_path_join(dir, "evil.txt"), *evil2 = xp_path_join(dir, "a/evil.txt");
        assert_false(xp_is_file(evil));
        assert_false(xp_is_file(evil2));
        free(evil);
        free(evil2);
        free(dump);
        free(err);
        free(root);
        tu_rmtree(dir);
        free(dir);
    }
}

/* A damaged messages.json: the line is named. */
static void bad_message_named(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_int_equal(ct_fixture("offline", dir, NULL), 0);
    assert_int_equal(tu_sh("cd '%s' && mkdir x && cd x && unzip -q ../*.zip && "
                           "printf '{\"type\": \"metric_msg\", \"payload\": 3}\\n' "
                           ">> messages.json && rm ../*.zip && zip -q -r "
                           "../0fedcba98765432100fedcba98765432.zip . && cd .. && rm -rf x",
                           dir), 0);
    char *dump, *err;
    int rc = ct_dump(&dump, &err, "comet-offline", dir);
    if (rc != XP_EINVALID)
        print_message("%d %s\n", rc, err);
    assert_int_equal(rc, XP_EINVALID);
    assert_true(ct_has(err, "line 575 of messages.json in '"));
    assert_true(ct_has(err, "': not a {\"type\", \"payload\"} message"));
    free(dump);
    free(err);
    tu_rmtree(dir);
    free(dir);
}

static int check_archives(const char *dir)
{
    char *script = tu_src("tests/comet/check_offline.py");
    int rc = tu_sh("'%s' '%s' '%s' >/dev/null", XPORT_PYTHON, script, dir);
    free(script);
    return rc;
}

/* Archives xport writes read back the same and pass what comet_ml's
 * OfflineSender checks (check_offline.py); a rerun adds nothing. */
static void write_roundtrip(void **state)
{
    (void)state;
    const char *srcs[] = {
        "OFFLINE", "COMETX",
        "wandb-offline:tests/fixtures/wandb/offline-run-20210216_154407-g9dvvkua",
        "wandb-offline:tests/fixtures/wandb/go-core-2026/media",
        "wandb-offline:tests/fixtures/wandb/go-core-2026/edge-nan-inf",
        "local:tests/fixtures/mldash/v0.6.27-local-store",
        "local:tests/fixtures/mldash/v0.5.9-local-store", NULL};
    for (int i = 0; srcs[i]; i++) {
        char *dir = tu_mkdtemp();
        char *src = xp_path_join(dir, "src"), *l1 = xp_path_join(dir, "l1"),
             *out = xp_path_join(dir, "out"), *l2 = xp_path_join(dir, "l2");
        struct xp_buf s = XP_BUF_INIT;
        if (!strcmp(srcs[i], "OFFLINE") || !strcmp(srcs[i], "COMETX")) {
            int off = !strcmp(srcs[i], "OFFLINE");
            assert_int_equal(ct_fixture(off ? "offline" : "cometx", src, NULL), 0);
            xp_buf_printf(&s, "%s:%s", off ? "comet-offline" : "cometx", src);
        } else {
            const char *colon = strchr(srcs[i], ':');
            char *rel = tu_src(colon + 1);
            xp_buf_printf(&s, "%.*s:%s", (int)(colon - srcs[i]), srcs[i], rel);
            free(rel);
        }
        char *pout = prefixed("comet-offline", out);
        assert_int_equal(xport("copy", "-q", s.ptr, l1), 0);
        assert_int_equal(xport("copy", "-q", l1, pout), 0);
        assert_int_equal(check_archives(out), 0);
        assert_int_equal(xport("copy", "-q", pout, l2), 0);
        if (xport("verify", l1, l2, NULL))
            print_message("source %s\n", srcs[i]);
        assert_int_equal(xport("verify", l1, l2, NULL), 0);
        if (i == 0) {
            /* the archive itself, unchanged by a rerun */
            int n = tu_count_files(out);
            assert_int_equal(tu_sh("cd '%s' && sha256sum *.zip > ../sums", out), 0);
            assert_int_equal(xport("copy", "-q", l1, pout), 0);
            assert_int_equal(tu_count_files(out), n);
            assert_int_equal(tu_sh("cd '%s' && sha256sum -c --quiet ../sums", out), 0);
            assert_int_equal(xport("verify", s.ptr, pout, NULL), 0);
        }
        xp_buf_release(&s);
        free(pout);
        free(src);
        free(l1);
        free(out);
        free(l2);
        tu_rmtree(dir);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_exact),
        cmocka_unit_test(through_cometx_and_back),
        cmocka_unit_test(hostile_archives_refused),
        cmocka_unit_test(bad_message_named),
        cmocka_unit_test(write_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
