/* Layouts in archives (adapters/local/archive*.c) through the command
 * line: every format read and written back equal, byte-identical archives
 * from two runs, a wandb-offline download straight into .tar.zst, archives
 * in another member order, and hostile or broken archives refused with the
 * member named. Hostile archives are made here with libarchive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

struct fixture {
    char *dir;    /* temp folder of the test */
    char *layout; /* the edge layout, in it */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp();
    f->layout = xp_path_join(f->dir, "L");
    if (gen_edge_layout(f->layout, 300))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->layout);
    free(f);
    return 0;
}

static char *at(const struct fixture *f, const char *name)
{
    return xp_path_join(f->dir, name);
}

static int run_err(char **err, const char *a0, const char *a1, const char *a2,
                   const char *a3)
{
    const char *argv[] = {a0, a1, a2, a3, NULL};
    char *out = NULL;
    int rc = tu_run_xport(&out, err, argv);
    free(out);
    return rc;
}

static const char *const exts[] = {"tar", "tar.gz", "tgz", "tar.zst", "tar.xz", "zip", NULL};

/* layout -> archive -> layout, for every format: verify says equal both
 * ways, and the files written back are the layout's own bytes (floats,
 * NaN/Inf, unicode names and file bodies included). */
static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    for (const char *const *e = exts; *e; e++) {
        if (!strcmp(*e, "tgz"))
            continue;
        char name[32], back[32];
        snprintf(name, sizeof(name), "a.%s", *e);
        snprintf(back, sizeof(back), "back-%s", *e);
        char *arc = at(f, name), *b = at(f, back);
        const char *cp[] = {"copy", "-q", f->layout, arc, NULL};
        assert_int_equal(tu_xport(NULL, cp), 0);
        assert_true(xp_is_file(arc));
        const char *v1[] = {"verify", arc, f->layout, NULL};
        assert_int_equal(tu_xport(NULL, v1), 0);
        const char *cb[] = {"copy", "-q", arc, b, NULL};
        assert_int_equal(tu_xport(NULL, cb), 0);
        const char *v2[] = {"verify", f->layout, b, NULL};
        assert_int_equal(tu_xport(NULL, v2), 0);
        assert_int_equal(tu_sh("diff -r -x .xport '%s' '%s'", f->layout, b), 0);
        /* no staging folder or temp file is left beside the archive */
        assert_int_equal(tu_sh("test -z \"$(ls -A '%s' | grep xport)\"", f->dir), 0);
        free(arc);
        free(b);
    }
}

/* Folder names that sort between a name and its own members ("loss",
 * "loss-b", "loss.b", "loss/..." in bytes order) are each listed once. */
static void test_sibling_names(void **state)
{
    struct fixture *f = *state;
    char *s = at(f, "S"), *arc = at(f, "S.tar.gz"), *back = at(f, "S-back");
    assert_int_equal(tu_sh("cp -r '%s' '%s' && find '%s' -type d -name 'train%%2Floss' -exec "
                           "sh -c 'for x in -b .b; do cp -r \"$1\" \"$1$x\" && "
                           "rm \"$1$x/metadata.json\"; done' _ {} \\;", f->layout, s, s), 0);
    assert_int_equal(tu_sh("test $(find '%s' -type d -name 'train%%2Floss*' | wc -l) -ge 3", s), 0);
    /* GNU tar writes the folders as members too: "loss" comes before
     * "loss-b/..." and again as "loss/..." */
    assert_int_equal(tu_sh("cd '%s' && tar czf '%s' --exclude=.xport .", s, arc), 0);
    const char *c2[] = {"copy", "-q", arc, back, NULL};
    assert_int_equal(tu_xport(NULL, c2), 0);
    const char *v[] = {"verify", s, back, NULL};
    assert_int_equal(tu_xport(NULL, v), 0);
    const char *va[] = {"verify", arc, s, NULL};
    assert_int_equal(tu_xport(NULL, va), 0);
    assert_int_equal(tu_sh("test $(find '%s' -name data.jsonl | wc -l) = "
                           "$(find '%s' -name data.jsonl | wc -l)", s, back), 0);
    free(s);
    free(arc);
    free(back);
}

/* verify compares for real: a changed value in the folder is a difference */
static void test_verify_finds_difference(void **state)
{
    struct fixture *f = *state;
    char *arc = at(f, "v.zip"), *b = at(f, "v-dir");
    const char *cp[] = {"copy", "-q", f->layout, arc, NULL};
    assert_int_equal(tu_xport(NULL, cp), 0);
    assert_int_equal(tu_sh("cp -r '%s' '%s' && f=$(find '%s' -name data.jsonl | sort | head -1) "
                           "&& sed -i '2s/[0-9]\\([,}]\\)/7\\1/' \"$f\"", f->layout, b, b), 0);
    char *err = NULL;
    assert_int_not_equal(run_err(&err, "verify", arc, b, NULL), 0);
    free(err);
    free(arc);
    free(b);
}

/* Two runs, one with --jobs 2, make the same bytes in every format. */
static void test_byte_identical(void **state)
{
    struct fixture *f = *state;
    char *g = at(f, "G");
    assert_int_equal(gen_many_layout(g, 6, 50), 0);
    for (int pass = 1; pass <= 2; pass++) {
        if (pass == 2)
            assert_int_equal(tu_sh("sleep 1"), 0); /* a time in a header would show */
        for (const char *const *e = exts; *e; e++) {
            char n[32];
            snprintf(n, sizeof(n), "%s.%s", pass == 1 ? "one" : "two", *e);
            char *a = at(f, n);
            const char *c[] = {"copy", "-q", "-j", pass == 1 ? "1" : "2", g, a, NULL};
            assert_int_equal(tu_xport(NULL, c), 0);
            free(a);
        }
    }
    for (const char *const *e = exts; *e; e++)
        if (tu_sh("cd '%s' && cmp one.%s two.%s", f->dir, *e, *e))
            fail_msg("two runs made different .%s archives", *e);
    free(g);
}

/* Written experiment by experiment in the run's order, not the source's:
 * the same layout read from a folder (-j1) and from an archive of it
 * (-j2) gives the same bytes. Two experiments of one name (sources apart)
 * are placed apart as in a folder (name~source id), though the first has
 * left the staging folder by the time the second comes: no member twice. */
static void test_streamed_order(void **state)
{
    struct fixture *f = *state;
    char *wm = tu_src("tests/fixtures/wandb/go-core-2026/workspace-multi");
    char *src = at(f, "dup"), *a = at(f, "dup-a.tar"), *b = at(f, "dup-b.tar");
    const char *d[] = {"download", "-q", "--from", "wandb-offline", wm, "-o", src, NULL};
    assert_int_equal(tu_xport(NULL, d), 0);
    assert_int_equal(tu_sh("cd '%s/fixture-entity/leet-fixtures' && mv sunny-lion-5 "
                           "'noted-morning-2~x' && sed -i 's/\"name\":\"sunny-lion-5\"/"
                           "\"name\":\"noted-morning-2\"/' 'noted-morning-2~x/experiment.json'",
                           src), 0);
    const char *c1[] = {"copy", "-q", "-j", "1", src, a, NULL};
    assert_int_equal(tu_xport(NULL, c1), 0);
    const char *c2[] = {"copy", "-q", "-j", "2", a, b, NULL};
    assert_int_equal(tu_xport(NULL, c2), 0);
    if (tu_sh("cmp '%s' '%s'", a, b))
        fail_msg("a layout and an archive of it made different archives");
    assert_int_equal(tu_sh("test -z \"$(tar -tf '%s' | sort | uniq -d)\"", a), 0);
    assert_int_equal(tu_sh("test $(tar -tf '%s' | grep -c '/noted-morning-2[^/]*/experiment.json$') "
                           "= 2", a), 0);
    const char *v[] = {"verify", a, src, NULL};
    assert_int_equal(tu_xport(NULL, v), 0);
    free(wm);
    free(src);
    free(a);
    free(b);
}

/* download from a wandb offline run straight into .tar.zst */
static void test_wandb_offline_download(void **state)
{
    struct fixture *f = *state;
    char *run = tu_src("tests/fixtures/wandb/go-core-2026/media");
    char *arc = at(f, "w.tar.zst"), *dir = at(f, "w-dir");
    const char *d1[] = {"download", "-q", "--from", "wandb-offline", run, "-o", arc, NULL};
    assert_int_equal(tu_xport(NULL, d1), 0);
    const char *d2[] = {"download", "-q", "--from", "wandb-offline", run, "-o", dir, NULL};
    assert_int_equal(tu_xport(NULL, d2), 0);
    const char *v[] = {"verify", arc, dir, NULL};
    assert_int_equal(tu_xport(NULL, v), 0);
    assert_int_equal(tu_sh("zstd -t -q '%s' 2>/dev/null || tar --zstd -tf '%s' >/dev/null",
                           arc, arc), 0);
    free(run);
    free(arc);
    free(dir);
}

/* tar czf order (and a top folder): read in extra passes, with a warning */
static void test_foreign_order(void **state)
{
    struct fixture *f = *state;
    char *arc = at(f, "gnu.tgz");
    assert_int_equal(tu_sh("cd '%s' && tar czf '%s' --exclude=.xport L", f->dir, arc), 0);
    char *err = NULL;
    assert_int_equal(run_err(&err, "verify", arc, f->layout, NULL), 0);
    assert_non_null(strstr(err, "not in the order xport writes"));
    free(err);
    free(arc);
}

/* A run that fails leaves no archive under the name (an earlier one stays
 * as it was), and nothing beside it. */
static void test_failed_run_leaves_none(void **state)
{
    struct fixture *f = *state;
    char *src = at(f, "bad"), *arc = at(f, "bad.tar.gz");
    assert_int_equal(gen_many_layout(src, 3, 10), 0);
    assert_int_equal(tu_sh("echo '{' > '%s/ws/proj/run-002/parameters.json'", src), 0);
    char *err = NULL;
    assert_int_not_equal(run_err(&err, "copy", src, arc, NULL), 0);
    assert_false(xp_is_file(arc));
    assert_non_null(strstr(err, "was not written"));
    free(err);
    tu_write(arc, "an earlier archive");
    assert_int_not_equal(run_err(&err, "copy", src, arc, NULL), 0);
    free(err);
    char *kept = tu_slurp(arc);
    assert_string_equal(kept, "an earlier archive");
    free(kept);
    assert_int_equal(tu_sh("test -z \"$(ls -A '%s' | grep xport)\"", f->dir), 0);
    /* --resume cannot continue an archive: refused, clearly, also when the
     * journal says every experiment is done (it would publish nothing) */
    assert_int_not_equal(run_err(&err, "copy", "--resume", f->layout, arc), 0);
    assert_non_null(strstr(err, "--resume"));
    free(err);
    char *ok = at(f, "ok.tar");
    const char *cp[] = {"copy", "-q", src, ok, NULL};
    char *par = xp_path_join(src, "ws/proj/run-002/parameters.json");
    tu_write(par, "{}");
    free(par);
    assert_int_equal(tu_xport(NULL, cp), 0);
    assert_int_equal(unlink(ok), 0);
    assert_int_not_equal(run_err(&err, "copy", "--resume", src, ok), 0);
    assert_non_null(strstr(err, "--resume"));
    free(err);
    /* nor can a shard write its share of one */
    const char *sh[] = {"copy", "--shard", "1/2", src, ok, NULL};
    char *o2 = NULL;
    assert_int_not_equal(tu_run_xport(&o2, &err, sh), 0);
    assert_non_null(strstr(err, "--shard"));
    assert_false(xp_is_file(ok));
    free(o2);
    free(err);
    free(ok);
    free(src);
    free(arc);
}

/* xport status ARCHIVE: an archive's journal is in the state folder (the
 * archive is rewritten whole by each run), among other destinations' */
static void test_status(void **state)
{
    struct fixture *f = *state;
    char *src = at(f, "st-src"), *arc = at(f, "st.tar.gz"), *other = at(f, "other.tar");
    char *sd = at(f, "state");
    assert_int_equal(gen_many_layout(src, 4, 5), 0);
    setenv("XDG_STATE_HOME", sd, 1);
    const char *c1[] = {"copy", "-q", src, arc, NULL};
    assert_int_equal(tu_xport(NULL, c1), 0);
    const char *c2[] = {"copy", "-q", f->layout, other, NULL};
    assert_int_equal(tu_xport(NULL, c2), 0);
    char *out = NULL, *err = NULL;
    const char *st[] = {"status", arc, "--json", NULL};
    int rc = tu_run_xport(&out, &err, st);
    unsetenv("XDG_STATE_HOME");
    if (rc)
        fail_msg("xport status %s: %d\n%s", arc, rc, err);
    /* this archive's one journal (4 done), not the other archive's */
    assert_non_null(strstr(out, "\"total\":{\"done\":4,\"partial\":0,\"failed\":0,"
                                "\"remaining\":0}"));
    assert_null(strstr(out, "},{\"file\""));
    free(out);
    free(err);
    free(sd);
    free(other);
    free(arc);
    free(src);
}

/* ---- hostile and broken archives ---- */

struct member {
    const char *name;
    mode_t type;
    const char *link;  /* symlink target, or hardlink target with type 0 */
    const char *data;
};

static void write_tar(const char *path, const struct member *v)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    for (; v->name; v++) {
        archive_entry_clear(e);
        archive_entry_set_pathname(e, v->name);
        archive_entry_set_perm(e, 0644);
        if (v->type == 0 && v->link) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, v->link);
        } else {
            archive_entry_set_filetype(e, v->type);
            if (v->link)
                archive_entry_set_symlink(e, v->link);
        }
        size_t n = v->data ? strlen(v->data) : 0;
        archive_entry_set_size(e, (la_int64_t)n);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (n)
            assert_int_equal(archive_write_data(a, v->data, n), (la_ssize_t)n);
    }
    archive_entry_free(e);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

#define LAYOUT_OK                                                               \
    {"xport.json", AE_IFREG, NULL, "{\"format\":\"xport-layout\",\"version\":1}\n"}, \
    {"ws/p/e/experiment.json", AE_IFREG, NULL,                                 \
     "{\"name\":\"e\",\"project\":\"p\",\"workspace\":\"ws\"}\n"}

static void test_hostile(void **state)
{
    struct fixture *f = *state;
    struct {
        struct member m[4];
        const char *says;
    } cases[] = {
        {{LAYOUT_OK, {"../x", AE_IFREG, NULL, "escape"}, {NULL}}, "'../x'"},
        {{LAYOUT_OK, {"ws/p/e/../../../../x", AE_IFREG, NULL, "y"}, {NULL}},
         "points outside"},
        {{LAYOUT_OK, {"/abs", AE_IFREG, NULL, "abs"}, {NULL}}, "'/abs' in"},
        {{LAYOUT_OK, {"ws/p/e/files.jsonl", AE_IFLNK, "../../../../etc/passwd", NULL}, {NULL}},
         "points outside"},
        {{LAYOUT_OK, {"ws/p/e/files.jsonl", AE_IFLNK, "/etc/passwd", NULL}, {NULL}},
         "points outside"},
        {{LAYOUT_OK, {"ws/p/e/logs", 0, "../x", NULL}, {NULL}}, "points outside"},
        {{LAYOUT_OK, {"ws/p/e/dev", AE_IFCHR, NULL, NULL}, {NULL}}, "'ws/p/e/dev'"},
        {{LAYOUT_OK, {"ws/p/e/fifo", AE_IFIFO, NULL, NULL}, {NULL}}, "fifo"},
        {{LAYOUT_OK, {"ws/p/e/ln", AE_IFLNK, "nowhere", NULL}, {NULL}}, "not a file"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char name[32];
        snprintf(name, sizeof(name), "hostile-%zu.tar", i);
        char *arc = at(f, name), *dst = at(f, "hostile-out");
        write_tar(arc, cases[i].m);
        char *err = NULL;
        int rc = run_err(&err, "copy", arc, dst, NULL);
        if (rc == 0 || rc >= 128 || !strstr(err, cases[i].says))
            fail_msg("case %zu: exit %d, wanted an error saying \"%s\":\n%s", i, rc,
                     cases[i].says, err);
        free(err);
        char *x = at(f, "x");
        assert_false(xp_is_file(x) || xp_is_file("/x"));
        free(x);
        tu_rmtree(dst);
        free(arc);
        free(dst);
    }
}

/* A link inside the root is read as the file it names. */
static void test_link_inside(void **state)
{
    struct fixture *f = *state;
    struct member m[] = {LAYOUT_OK,
                         {"ws/p/e/parameters.json", AE_IFLNK, "../../../common.json", NULL},
                         {"common.json", AE_IFREG, NULL, "{\"lr\":0.5}\n"},
                         {NULL}};
    char *arc = at(f, "link.tar"), *dst = at(f, "link-out");
    write_tar(arc, m);
    const char *cp[] = {"copy", "-q", arc, dst, NULL};
    assert_int_equal(tu_xport(NULL, cp), 0);
    assert_int_equal(tu_sh("grep -q 0.5 '%s/ws/p/e/parameters.json'", dst), 0);
    free(arc);
    free(dst);
}

/* Truncated and corrupt archives: a clear error, never a crash. */
static void test_truncated(void **state)
{
    struct fixture *f = *state;
    static const char *const some[] = {"tar", "tar.gz", "tar.zst", "zip", NULL};
    for (const char *const *e = some; *e; e++) {
        char name[32];
        snprintf(name, sizeof(name), "t.%s", *e);
        char *arc = at(f, name);
        const char *cp[] = {"copy", "-q", f->layout, arc, NULL};
        assert_int_equal(tu_xport(NULL, cp), 0);
        struct stat st;
        assert_int_equal(stat(arc, &st), 0);
        assert_int_equal(truncate(arc, st.st_size * 2 / 3), 0);
        char *err = NULL;
        int rc = run_err(&err, "verify", arc, f->layout, NULL);
        if (rc == 0 || rc >= 128 || !strstr(err, name))
            fail_msg("truncated .%s: exit %d:\n%s", *e, rc, err);
        free(err);
        /* garbage in the middle */
        assert_int_equal(tu_sh("printf 'garbage%%.0s' $(seq 200) | dd of='%s' bs=1 seek=%lld "
                               "conv=notrunc status=none", arc, (long long)(st.st_size / 3)), 0);
        rc = run_err(&err, "verify", arc, f->layout, NULL);
        if (rc == 0 || rc >= 128)
            fail_msg("corrupt .%s: exit %d:\n%s", *e, rc, err);
        free(err);
        free(arc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sibling_names),
        cmocka_unit_test(test_verify_finds_difference),
        cmocka_unit_test(test_byte_identical),
        cmocka_unit_test(test_streamed_order),
        cmocka_unit_test(test_wandb_offline_download),
        cmocka_unit_test(test_foreign_order),
        cmocka_unit_test(test_failed_run_leaves_none),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_link_inside),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
