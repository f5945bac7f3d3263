/* --shard K/N and xport status: three shards of a 60-experiment layout
 * make the same destination as one unsharded copy, no experiment is in two
 * shards, the assignment is recorded and does not move with the source's
 * path, a failed shard is resumed alone, bad values are usage errors, and
 * status sums the shards' journals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/shard.h"

#define NEXP 60
/* computed apart from xport: python3 -c "import hashlib; print(''.join(str(int.from_bytes(
 * hashlib.sha256(b'ws\0proj\0/ws/proj/run-%03d' % i).digest()[:8], 'big') % 3 + 1)
 * for i in range(1, 21)))" */
#define SHARDS_OF_FIRST_20 "21113133132113331222"

struct fixture {
    char *tmp, *src;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->tmp = tu_mkdtemp();
    f->src = xp_path_join(f->tmp, "src");
    if (gen_many_layout(f->src, NEXP, 3))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rmtree(f->tmp);
    free(f->tmp);
    free(f->src);
    free(f);
    return 0;
}

static char *at(const struct fixture *f, const char *name)
{
    return xp_path_join(f->tmp, name);
}

/* Which of run-001..run-060 are in dst/ws/proj: have[i] for run i+1. */
static int present(const char *dst, int have[NEXP])
{
    memset(have, 0, NEXP * sizeof(int));
    char *dir = xp_path_join(dst, "ws/proj");
    char **names = NULL;
    size_t n = 0;
    int count = 0;
    if (!xp_list_dir(&names, &n, dir))
        for (size_t i = 0; i < n; i++) {
            int k;
            if (sscanf(names[i], "run-%3d", &k) == 1 && k >= 1 && k <= NEXP) {
                have[k - 1] = 1;
                count++;
            }
        }
    xp_strv_free(names);
    free(dir);
    return count;
}

static int copy_shard(const char *src, const char *dst, const char *shard, int resume)
{
    const char *argv[] = {"copy", "-q", src, dst, "--shard", shard,
                          resume ? "--resume" : NULL, NULL};
    char *o = NULL, *e = NULL;
    int rc = tu_run_xport(&o, &e, argv);
    if (rc && rc != 3)
        print_message("xport copy --shard %s: %d\n%s%s", shard, rc, o, e);
    free(o);
    free(e);
    return rc;
}

/* Run a copy of one shard with --json (a dry run when dry): have[i] is set
 * for each run-NNN it copied (or plans to). Returns the exit code. */
static int shard_run(const char *src, const char *dst, const char *shard, int dry,
                     int have[NEXP])
{
    const char *argv[] = {"copy", src, dst, "--shard", shard, "--json",
                          dry ? "--dry-run" : NULL, NULL};
    char *o = NULL, *e = NULL;
    int rc = tu_run_xport(&o, &e, argv);
    memset(have, 0, NEXP * sizeof(int));
    for (char *l = o; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        const char *nm = strstr(l, "\"name\":\"run-");
        int k;
        if (nm && (strstr(l, "\"outcome\":\"copied\"") || strstr(l, "\"outcome\":\"planned\"")) &&
            sscanf(nm, "\"name\":\"run-%3d", &k) == 1 && k >= 1 && k <= NEXP)
            have[k - 1] = 1;
        l = nl ? nl + 1 : NULL;
    }
    if (rc)
        print_message("xport copy --shard %s: %d\n%s", shard, rc, e);
    free(o);
    free(e);
    return rc;
}

/* The hash itself, recorded: a change here moves experiments between the
 * shards of a migration already under way. */
static void test_assignment_recorded(void **state)
{
    (void)state;
    assert_int_equal(xp_shard_of("ws", "proj", "id-1", 1), 1);
    assert_int_equal(xp_shard_of("ws", "proj", "id-1", 0), 1);
    /* SHA-256("ws\0proj\0<key>"), first 8 bytes big-endian, mod 3, + 1 */
    char got[21] = "";
    for (int i = 1; i <= 20; i++) {
        char key[32];
        snprintf(key, sizeof(key), "/ws/proj/run-%03d", i);
        got[i - 1] = (char)('0' + xp_shard_of("ws", "proj", key, 3));
    }
    assert_string_equal(got, SHARDS_OF_FIRST_20);
    /* the parts are separated: ("ab","c") is not ("a","bc") */
    int differ = 0;
    for (int n = 2; n < 40 && !differ; n++)
        differ = xp_shard_of("ab", "c", "k", n) != xp_shard_of("a", "bc", "k", n);
    assert_true(differ);
}

/* Three shards: disjoint, their union the whole source (verify exits 0,
 * and equals an unsharded copy), each shard the set the hash names, the
 * same when the source is reached by another path. */
static void test_three_shards(void **state)
{
    struct fixture *f = *state;
    int seen[NEXP] = {0}, have[NEXP];
    char *all = at(f, "all");
    for (int k = 1; k <= 3; k++) {
        char shard[8];
        snprintf(shard, sizeof(shard), "%d/3", k);
        assert_int_equal(shard_run(f->src, all, shard, 0, have), 0);
        int n = 0;
        for (int i = 0; i < NEXP; i++) {
            if (!have[i])
                continue;
            n++;
            if (seen[i])
                fail_msg("run-%03d is in shard %d and shard %d", i + 1, seen[i], k);
            seen[i] = k;
            char key[32];
            snprintf(key, sizeof(key), "/ws/proj/run-%03d", i + 1);
            assert_int_equal(xp_shard_of("ws", "proj", key, 3), k);
        }
        assert_true(n > 5 && n < NEXP); /* a split, not all in one */
    }
    for (int i = 0; i < NEXP; i++)
        if (!seen[i])
            fail_msg("run-%03d is in no shard", i + 1);
    const char *v1[] = {"verify", f->src, all, NULL};
    assert_int_equal(tu_xport(NULL, v1), 0);
    char *plain = at(f, "plain");
    const char *cp[] = {"copy", "-q", f->src, plain, NULL};
    assert_int_equal(tu_xport(NULL, cp), 0);
    const char *v2[] = {"verify", plain, all, NULL};
    assert_int_equal(tu_xport(NULL, v2), 0);
    assert_int_equal(tu_count_data_files(plain), tu_count_data_files(all));

    /* the same layout by another path (a link, as another machine's mount)
     * splits the same way */
    char *alias = at(f, "alias"), *again = at(f, "again");
    assert_int_equal(symlink(f->src, alias), 0);
    assert_int_equal(shard_run(alias, again, "2/3", 1, have), 0);
    for (int i = 0; i < NEXP; i++)
        if (have[i] != (seen[i] == 2))
            fail_msg("run-%03d: shard 2 through a link %s it", i + 1,
                     have[i] ? "has" : "lacks");
    free(alias);
    free(again);
    free(plain);
    free(all);
}

/* The summary says which shard and how many of how many. */
static void test_summary_line(void **state)
{
    struct fixture *f = *state;
    char *dst = at(f, "summary");
    const char *argv[] = {"copy", f->src, dst, "--shard", "1/3", NULL};
    char *o = NULL, *e = NULL;
    assert_int_equal(tu_run_xport(&o, &e, argv), 0);
    int have[NEXP];
    char want[64];
    snprintf(want, sizeof(want), "shard 1/3: %d of %d listed experiments",
             present(dst, have), NEXP);
    if (!strstr(o, want))
        fail_msg("no '%s' in:\n%s", want, o);
    free(o);
    free(e);
    const char *j[] = {"copy", f->src, dst, "--shard", "1/3", "--json", NULL};
    assert_int_equal(tu_run_xport(&o, &e, j), 0);
    snprintf(want, sizeof(want), "\"shard\":{\"k\":1,\"n\":3,\"listed\":%d,\"listedAll\":%d}",
             present(dst, have), NEXP);
    if (!strstr(o, want))
        fail_msg("no '%s' in:\n%s", want, o);
    free(o);
    free(e);
    free(dst);
}

static void test_bad_values(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {"0/3", "4/3", "3", "a/b", "1/0", "-1/3", "+1/3", "1/3x", "",
                         "/", "2/1000001", "1//3"};
    char *dst = at(f, "bad");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *cmds[][9] = {
            {"copy", f->src, dst, "--shard", bad[i], NULL},
            {"download", "--from", "local", f->src, "-o", dst, "--shard", bad[i]},
            {"upload", f->src, "--to", "local", "--target", dst, "--shard", bad[i]},
        };
        /* every value on copy; download and upload (the same parser) on two */
        for (size_t c = 0; c < (i < 2 ? 3u : 1u); c++) {
            const char *argv[10] = {0};
            memcpy(argv, cmds[c], sizeof(cmds[c]));
            char *o = NULL, *e = NULL;
            int rc = tu_run_xport(&o, &e, argv);
            if (rc != 2 || !strstr(e, "option '--shard'"))
                fail_msg("xport %s --shard '%s': exit %d, stderr:\n%s", argv[0], bad[i], rc, e);
            free(o);
            free(e);
        }
    }
    /* --sync project would make a shard skip the projects the others wrote */
    const char *s[] = {"copy", f->src, dst, "--shard", "1/2", "--sync", "project", NULL};
    char *o = NULL, *e = NULL;
    assert_int_equal(tu_run_xport(&o, &e, s), 2);
    assert_non_null(strstr(e, "--shard"));
    free(o);
    free(e);
    assert_false(xp_is_dir(dst)); /* nothing was written */
    free(dst);
}

/* The first experiment of shard `shard`, made unreadable: its series file. */
static char *break_one(const struct fixture *f, int shard, int *which)
{
    for (int i = 1; i <= NEXP; i++) {
        char key[32];
        snprintf(key, sizeof(key), "/ws/proj/run-%03d", i);
        if (xp_shard_of("ws", "proj", key, 3) != shard)
            continue;
        *which = i;
        struct xp_buf p = XP_BUF_INIT;
        xp_buf_printf(&p, "%s/ws/proj/run-%03d/metrics/loss/data.jsonl", f->src, i);
        char *file = xp_buf_detach(&p);
        char *keep = xp_path_join(f->tmp, "kept-series");
        assert_int_equal(rename(file, keep), 0);
        tu_write(file, "{\"this is\": not a series\n");
        free(keep);
        return file;
    }
    fail_msg("shard %d is empty", shard);
    return NULL;
}

static char *status_json(const char *dst)
{
    const char *argv[] = {"status", dst, "--json", NULL};
    char *o = NULL, *e = NULL;
    int rc = tu_run_xport(&o, &e, argv);
    if (rc)
        fail_msg("xport status: %d\n%s", rc, e);
    free(e);
    return o;
}

/* Shard 2 fails one experiment; status names the figures; shard 2 alone,
 * resumed once the source is mended, finishes; the union verifies. */
static void test_failed_shard_resumed_alone(void **state)
{
    struct fixture *f = *state;
    char *dst = at(f, "resumed");
    int which = 0, have[NEXP];
    char *broken = break_one(f, 2, &which);
    assert_int_equal(copy_shard(f->src, dst, "1/3", 0), 0);
    int n1 = present(dst, have);
    assert_int_not_equal(copy_shard(f->src, dst, "2/3", 0), 0);
    int n2 = present(dst, have) - n1; /* shard 2's, but the broken one */

    /* shard 3 not started yet: status knows shards 1 and 2 only */
    char *o = status_json(dst);
    char want[256];
    snprintf(want, sizeof(want), "\"shard\":{\"k\":1,\"n\":3},\"done\":%d,\"partial\":0,"
             "\"failed\":0,\"listed\":%d,\"listedAll\":%d,\"remaining\":0}", n1, n1, NEXP);
    if (!strstr(o, want))
        fail_msg("no '%s' in:\n%s", want, o);
    snprintf(want, sizeof(want), "\"shard\":{\"k\":2,\"n\":3},\"done\":%d,\"partial\":0,"
             "\"failed\":1,\"listed\":%d,\"listedAll\":%d,\"remaining\":0}", n2, n2 + 1, NEXP);
    if (!strstr(o, want))
        fail_msg("no '%s' in:\n%s", want, o);
    assert_non_null(strstr(o, "\"missing\":[{\"src\":"));
    assert_non_null(strstr(o, "\"shard\":{\"k\":3,\"n\":3}}]"));
    assert_non_null(strstr(o, "\"total\":{\"done\":"));
    assert_non_null(strstr(o, "\"remaining\":null}")); /* shard 3 unknown */
    free(o);
    const char *plain[] = {"status", dst, NULL};
    char *e = NULL;
    assert_int_equal(tu_run_xport(&o, &e, plain), 0);
    assert_non_null(strstr(o, "3/3"));
    assert_non_null(strstr(o, "not started"));
    free(o);
    free(e);

    /* mend the source; shard 2 resumed alone copies just that one */
    char *keep = xp_path_join(f->tmp, "kept-series");
    assert_int_equal(rename(keep, broken), 0);
    const char *r[] = {"copy", f->src, dst, "--shard", "2/3", "--resume", "--json", NULL};
    assert_int_equal(tu_run_xport(&o, &e, r), 0);
    size_t copied = 0;
    for (const char *p = o; (p = strstr(p, "\"outcome\":\"copied\"")); p++)
        copied++;
    assert_int_equal(copied, 1);
    free(o);
    free(e);
    assert_int_equal(copy_shard(f->src, dst, "3/3", 0), 0);
    assert_int_equal(present(dst, have), NEXP);
    const char *v[] = {"verify", f->src, dst, NULL};
    assert_int_equal(tu_xport(NULL, v), 0);
    o = status_json(dst);
    snprintf(want, sizeof(want),
             "\"total\":{\"done\":%d,\"partial\":0,\"failed\":0,\"remaining\":0}", NEXP);
    if (!strstr(o, want))
        fail_msg("no '%s' in:\n%s", want, o);
    assert_non_null(strstr(o, "\"missing\":[]"));
    free(o);
    free(keep);
    free(broken);
    free(dst);
}

/* The shards of one new destination folder at once: each has its own lock,
 * and none refuses the folder while another is making it a layout. */
static void test_shards_at_once(void **state)
{
    struct fixture *f = *state;
    char *dst = at(f, "atonce");
    int rc = tu_sh("for k in 1 2 3; do \"$XPORT_BIN\" copy -q '%s' '%s' --shard $k/3 "
                   ">'%s.out-'$k 2>&1 || echo \"shard $k failed\" >>'%s.fail' & done; wait; "
                   "test ! -e '%s.fail' || { cat '%s.fail' '%s'.out-*; exit 1; }",
                   f->src, dst, dst, dst, dst, dst, dst);
    assert_int_equal(rc, 0);
    const char *v[] = {"verify", f->src, dst, NULL};
    assert_int_equal(tu_xport(NULL, v), 0);
    free(dst);

    /* the moment that race turns on, held still: another shard has the
     * lock folder and is renaming the layout's marker into place */
    dst = at(f, "midway");
    assert_int_equal(tu_sh("mkdir -p '%s/.xport' && echo '{}' >'%s/xport.json.xport-tmp-1-0'",
                           dst, dst), 0);
    int have[NEXP];
    assert_int_equal(shard_run(f->src, dst, "3/3", 0, have), 0);
    free(dst);
}

/* --state-file: the shard's journal is FILE-K-of-N.jsonl, and status
 * --state-file FILE reads it and its siblings, not a FILEX.jsonl beside. */
static void test_status_state_file(void **state)
{
    struct fixture *f = *state;
    char *dst = at(f, "sf-dst"), *other = at(f, "sf-other"), *j = at(f, "sf/j.jsonl"),
         *jj = at(f, "sf/jj.jsonl"), *j1 = at(f, "sf/j-1-of-2.jsonl");
    const char *a[] = {"copy", "-q", f->src, dst, "--shard", "1/2", "--state-file", j, NULL};
    assert_int_equal(tu_xport(NULL, a), 0);
    assert_true(xp_is_file(j1));
    assert_false(xp_is_file(j));
    const char *b[] = {"copy", "-q", f->src, other, "--state-file", jj, NULL};
    assert_int_equal(tu_xport(NULL, b), 0);
    const char *st[] = {"status", dst, "--state-file", j, "--json", NULL};
    char *o = NULL, *e = NULL;
    assert_int_equal(tu_run_xport(&o, &e, st), 0);
    assert_non_null(strstr(o, "j-1-of-2.jsonl"));
    assert_null(strstr(o, "jj.jsonl"));
    assert_non_null(strstr(o, "\"missing\":[{\"src\":"));
    assert_non_null(strstr(o, "\"shard\":{\"k\":2,\"n\":2}}]"));
    free(o);
    free(e);
    free(dst);
    free(other);
    free(j);
    free(jj);
    free(j1);
}

static void test_status_without_journal(void **state)
{
    struct fixture *f = *state;
    char *dst = at(f, "nothing");
    const char *argv[] = {"status", dst, NULL};
    char *o = NULL, *e = NULL;
    assert_int_equal(tu_run_xport(&o, &e, argv), 1);
    assert_non_null(strstr(e, "no journal of a copy into"));
    free(o);
    free(e);
    const char *none[] = {"status", NULL};
    assert_int_equal(tu_run_xport(&o, &e, none), 2);
    free(o);
    free(e);
    free(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assignment_recorded),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_status_without_journal),
        cmocka_unit_test(test_three_shards),
        cmocka_unit_test(test_summary_line),
        cmocka_unit_test(test_shards_at_once),
        cmocka_unit_test(test_status_state_file),
        cmocka_unit_test(test_failed_shard_resumed_alone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
