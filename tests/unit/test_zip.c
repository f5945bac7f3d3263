/* Unit tests of the zip reader and writer (core/zip.c): a round trip, and
 * hostile archives built here with libzip (and a few bytes patched where
 * libzip will not write the lie): zip-slip, absolute paths, backslashes,
 * symlinks in the archive and in the output root, duplicate names, size
 * bombs (ratio, total cap, declared against real size). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/zip.h"

struct ent {
    const char *name;
    const char *data; /* NULL: `len` zero bytes */
    size_t len;
    int symlink;
    int store; /* no compression */
};

/* Build an archive at path with raw libzip: names are taken as they are. */
static void build(const char *path, const struct ent *e, size_t n)
{
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    assert_non_null(za);
    for (size_t i = 0; i < n; i++) {
        size_t len = e[i].data ? strlen(e[i].data) : e[i].len;
        void *buf = calloc(1, len ? len : 1);
        if (e[i].data)
            memcpy(buf, e[i].data, len);
        zip_source_t *src = zip_source_buffer(za, buf, len, 1);
        assert_non_null(src);
        zip_int64_t k = zip_file_add(za, e[i].name, src, ZIP_FL_ENC_UTF_8);
        assert_true(k >= 0);
        if (e[i].symlink)
            assert_int_equal(zip_file_set_external_attributes(
                                 za, (zip_uint64_t)k, 0, ZIP_OPSYS_UNIX,
                                 (zip_uint32_t)(S_IFLNK | 0777) << 16), 0);
        if (e[i].store)
            assert_int_equal(zip_set_file_compression(za, (zip_uint64_t)k,
                                                      ZIP_CM_STORE, 0), 0);
    }
    assert_int_equal(zip_close(za), 0);
}

static char *path_in(const char *dir, const char *name)
{
    return xp_path_join(dir, name);
}

/* Open, then check or extract: the first error code. */
static int extract(const char *zpath, const char *root,
                   const struct xp_zip_limits *lim)
{
    struct xp_zip *z;
    int rc = xp_zip_open(&z, zpath);
    if (rc)
        return rc;
    rc = xp_zip_extract(z, root, lim);
    xp_zip_close(z);
    return rc;
}

static void test_roundtrip(void **state)
{
    char *d = tu_mkdtemp();
    char *zp = path_in(d, "a.zip"), *src = path_in(d, "src.bin");
    tu_write(src, "from a file\n");
    struct xp_zip_writer *w;
    assert_int_equal(xp_zip_create(&w, zp), 0);
    assert_int_equal(xp_zip_add_mem(w, "hello.txt", "hello\n", 6), 0);
    assert_int_equal(xp_zip_add_mem(w, "dir/sub/ünï.json", "{}", 2), 0);
    assert_int_equal(xp_zip_add_file(w, "dir/copy.bin", src), 0);
    assert_false(xp_is_file(zp)); /* nothing at the path before commit */
    assert_int_equal(xp_zip_commit(w), 0);
    assert_true(xp_is_file(zp));
    /* no temporary file is left next to it */
    char **names;
    size_t n;
    assert_int_equal(xp_list_dir(&names, &n, d), 0);
    assert_int_equal(n, 2);
    xp_strv_free(names);

    struct xp_zip *z;
    assert_int_equal(xp_zip_open(&z, zp), 0);
    assert_int_equal(xp_zip_count(z), 3);
    assert_int_equal(xp_zip_check(z, NULL), 0);
    size_t i;
    assert_int_equal(xp_zip_find(z, "dir/copy.bin", &i), 0);
    struct xp_zip_entry e;
    assert_int_equal(xp_zip_entry(z, i, &e), 0);
    assert_string_equal(e.name, "dir/copy.bin");
    assert_int_equal(e.size, 12);
    assert_false(e.is_dir || e.is_symlink);
    struct xp_buf b = XP_BUF_INIT;
    assert_int_equal(xp_zip_read(z, i, &b, 1024), 0);
    assert_int_equal(b.len, 12);
    assert_memory_equal(b.ptr, "from a file\n", 12);
    assert_int_equal(xp_zip_read(z, i, &b, 4), XP_EINVALID); /* over max */
    assert_int_equal(xp_zip_find(z, "nope", &i), XP_ENOTFOUND);
    char *root = path_in(d, "out");
    assert_int_equal(xp_zip_extract(z, root, NULL), 0);
    xp_zip_close(z);
    char *got = path_in(root, "dir/sub/ünï.json");
    char *text = tu_slurp(got);
    assert_string_equal(text, "{}");
    free(text);
    free(got);
    got = path_in(root, "hello.txt");
    text = tu_slurp(got);
    assert_string_equal(text, "hello\n");
    free(text);
    free(got);

    /* an empty archive is still a readable archive */
    char *ep = path_in(d, "empty.zip");
    assert_int_equal(xp_zip_create(&w, ep), 0);
    assert_int_equal(xp_zip_commit(w), 0);
    assert_int_equal(xp_zip_open(&z, ep), 0);
    assert_int_equal(xp_zip_count(z), 0);
    xp_zip_close(z);

    xp_buf_release(&b);
    free(ep);
    free(root);
    free(src);
    free(zp);
    tu_rmtree(d);
    free(d);
}

static void test_writer_refuses(void **state)
{
    char *d = tu_mkdtemp();
    char *zp = path_in(d, "w.zip");
    const char *bad[] = {"../up.txt", "/abs.txt", "a/../../b", "a\\..\\b",
                         "", "./x", "dir/", "a//b"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct xp_zip_writer *w;
        assert_int_equal(xp_zip_create(&w, zp), 0);
        assert_int_equal(xp_zip_add_mem(w, "fine.txt", "x", 1), 0);
        assert_int_equal(xp_zip_add_mem(w, bad[k], "x", 1), XP_EINVALID);
        /* the error sticks: commit fails and leaves nothing */
        assert_int_equal(xp_zip_commit(w), XP_EINVALID);
        assert_false(xp_is_file(zp));
    }
    struct xp_zip_writer *w;
    assert_int_equal(xp_zip_create(&w, zp), 0);
    assert_int_equal(xp_zip_add_file(w, "x", "/nonexistent/file"), XP_ENOTFOUND);
    xp_zip_abort(w);
    char **names;
    size_t n;
    assert_int_equal(xp_list_dir(&names, &n, d), 0);
    assert_int_equal(n, 0); /* no temporary file left either */
    xp_strv_free(names);
    free(zp);
    tu_rmtree(d);
    free(d);
}

/* An archive holding `e` is refused, and nothing at all is written under
 * d (the root is d/out; "evil" names aim at d). */
static void refused(const char *d, const struct ent *e, size_t n,
                    const struct xp_zip_limits *lim)
{
    char *zp = path_in(d, "h.zip"), *root = path_in(d, "out");
    build(zp, e, n);
    int rc = extract(zp, root, lim);
    assert_int_equal(rc, XP_EINVALID);
    assert_non_null(strstr(xp_error_last()->message, "h.zip"));
    char **names;
    size_t k;
    assert_int_equal(xp_list_dir(&names, &k, d), 0);
    for (size_t i = 0; i < k; i++)
        if (strcmp(names[i], "h.zip") && strcmp(names[i], "out"))
            fail_msg("'%s' was written next to the root", names[i]);
    xp_strv_free(names);
    if (xp_is_dir(root))
        assert_int_equal(tu_count_files(root), 0);
    unlink(zp);
    xp_rm_rf(root);
    free(zp);
    free(root);
}

static void test_hostile_names(void **state)
{
    char *d = tu_mkdtemp();
    char *abs = path_in(d, "abs-evil.txt");
    const char *names[] = {"../evil.txt", "a/../../evil.txt", abs,
                           "a\\..\\..\\evil.txt", "./evil.txt", "a//evil.txt"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        struct ent e[] = {{"ok.txt", "fine", 0, 0, 0}, {names[k], "pwned", 0, 0, 0}};
        refused(d, e, 2, NULL);
    }
    free(abs);
    tu_rmtree(d);
    free(d);
}

static void test_symlinks(void **state)
{
    char *d = tu_mkdtemp();
    /* a symlink entry, and a file "through" it */
    struct ent e[] = {{"ok.txt", "fine", 0, 0, 0},
                      {"link", "..", 0, 1, 0},
                      {"link/evil.txt", "pwned", 0, 0, 0}};
    refused(d, e, 3, NULL);
    struct ent e1[] = {{"link", "/etc/passwd", 0, 1, 0}};
    refused(d, e1, 1, NULL);

    /* a symlink already in the output root is not followed */
    char *zp = path_in(d, "s.zip"), *root = path_in(d, "out");
    char *outside = path_in(d, "outside"), *ln = path_in(root, "sub");
    assert_int_equal(xp_mkdir_p(root), 0);
    assert_int_equal(xp_mkdir_p(outside), 0);
    assert_int_equal(symlink(outside, ln), 0);
    struct ent e2[] = {{"sub/evil.txt", "pwned", 0, 0, 0}};
    build(zp, e2, 1);
    assert_int_equal(extract(zp, root, NULL), XP_EINVALID);
    assert_int_equal(tu_count_files(outside), 0);
    /* nor is a symlink where a file goes */
    unlink(ln);
    char *target = path_in(outside, "victim.txt");
    tu_write(target, "keep");
    char *fl = path_in(root, "f.txt");
    assert_int_equal(symlink(target, fl), 0);
    struct ent e3[] = {{"f.txt", "pwned", 0, 0, 0}};
    build(zp, e3, 1);
    assert_int_equal(extract(zp, root, NULL), XP_EINVALID);
    char *text = tu_slurp(target);
    assert_string_equal(text, "keep");
    free(text);
    free(fl);
    free(target);
    free(ln);
    free(outside);
    free(root);
    free(zp);
    tu_rmtree(d);
    free(d);
}

static void test_bombs(void **state)
{
    char *d = tu_mkdtemp();
    /* 8 MiB of zeros deflate to some 8 KiB: over 200:1 */
    struct ent e[] = {{"ok.txt", "fine", 0, 0, 0},
                      {"zeros.bin", NULL, (size_t)8 << 20, 0, 0}};
    refused(d, e, 2, NULL);
    /* allowed when the caller lifts the ratio */
    struct xp_zip_limits lim;
    xp_zip_limits_init(&lim);
    lim.max_ratio = 0;
    char *zp = path_in(d, "h.zip"), *root = path_in(d, "out");
    build(zp, e, 2);
    assert_int_equal(extract(zp, root, &lim), 0);
    xp_rm_rf(root);
    /* the total cap and the per-entry cap are checked before anything is
     * written */
    xp_zip_limits_init(&lim);
    lim.max_total = 100;
    struct ent two[] = {{"a.txt", NULL, 80, 0, 0}, {"b.txt", NULL, 80, 0, 0}};
    refused(d, two, 2, &lim);
    xp_zip_limits_init(&lim);
    lim.max_entry = 50;
    refused(d, two, 2, &lim);
    xp_zip_limits_init(&lim);
    lim.max_entries = 1;
    refused(d, two, 2, &lim);
    /* a name twice */
    struct ent dup[] = {{"same.txt", "one", 0, 0, 0}, {"samf.txt", "two", 0, 0, 0}};
    build(zp, dup, 2);
    struct xp_buf b = XP_BUF_INIT;
    assert_int_equal(xp_read_file(&b, zp, 1 << 20), 0);
    for (size_t i = 0; i + 8 <= b.len; i++)
        if (!memcmp(b.ptr + i, "samf.txt", 8))
            memcpy(b.ptr + i, "same.txt", 8);
    assert_int_equal(xp_write_file_atomic(zp, b.ptr, b.len), 0);
    assert_int_not_equal(extract(zp, root, NULL), 0);
    if (xp_is_dir(root))
        assert_int_equal(tu_count_files(root), 0);
    xp_buf_release(&b);
    free(zp);
    free(root);
    tu_rmtree(d);
    free(d);
}

static uint32_t get32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Rewrite the declared uncompressed size of every entry (local header and
 * central directory) to `size`. */
static void lie_about_size(const char *zp, uint32_t size)
{
    struct xp_buf b = XP_BUF_INIT;
    assert_int_equal(xp_read_file(&b, zp, 1 << 20), 0);
    unsigned char *p = (unsigned char *)b.ptr;
    int patched = 0;
    for (size_t i = 0; i + 46 <= b.len; i++) {
        if (get32(p + i) == 0x04034b50) {
            put32(p + i + 22, size);
            patched++;
        } else if (get32(p + i) == 0x02014b50) {
            put32(p + i + 24, size);
            patched++;
        }
    }
    assert_int_equal(patched, 2);
    assert_int_equal(xp_write_file_atomic(zp, b.ptr, b.len), 0);
    xp_buf_release(&b);
}

static void test_declared_size(void **state)
{
    char *d = tu_mkdtemp();
    char *zp = path_in(d, "h.zip"), *root = path_in(d, "out");
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    const uint32_t lies[] = {500, 2000, 0};
    for (size_t k = 0; k < 3; k++) {
        struct ent e[] = {{"data.txt", big, 0, 0, 0}};
        build(zp, e, 1);
        lie_about_size(zp, lies[k]);
        assert_int_not_equal(extract(zp, root, NULL), 0);
        char *f = path_in(root, "data.txt");
        assert_false(xp_is_file(f)); /* no file, not even a cut one */
        free(f);
        struct xp_zip *z;
        if (xp_zip_open(&z, zp) == 0) {
            struct xp_buf b = XP_BUF_INIT;
            assert_int_not_equal(xp_zip_read(z, 0, &b, 1 << 20), 0);
            xp_buf_release(&b);
            xp_zip_close(z);
        }
        xp_rm_rf(root);
    }
    /* not a zip at all */
    tu_write(zp, "PK but not really");
    struct xp_zip *z;
    assert_int_equal(xp_zip_open(&z, zp), XP_EINVALID);
    free(zp);
    free(root);
    tu_rmtree(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_writer_refuses),
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_bombs),
        cmocka_unit_test(test_declared_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
