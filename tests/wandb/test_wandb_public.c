/* The wandb adapter against a W&B emulator that refuses every field and
 * argument W&B's own public client does not ask for (tests/wandb/
 * public_gql.txt, issue 20): downloads and uploads with several pages of
 * projects, runs, console lines, files and artifacts; console lines read
 * with useImprovedPagination and from a server before 0.77 (legacy
 * resolver), each once and in order; levels and labels kept and written
 * back as W&B's client writes stderr output. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wsrv.h"
#include "xport/json.h"

#define NLINES 23

/* The console of run big: stdout, stderr, labelled lines. */
static void console(struct json_object *logs)
{
    for (int i = 0; i < NLINES; i++) {
        char line[128];
        if (i % 5 == 3)
            snprintf(line, sizeof(line),
                     "ERROR 2024-01-01T00:00:%02d.000000 [rank-1] err %d", i, i);
        else if (i % 5 == 4)
            snprintf(line, sizeof(line), "ERROR 2024-01-01T00:00:%02d.250000 "
                                         "Traceback line %d", i, i);
        else
            snprintf(line, sizeof(line), "2024-01-01T00:00:%02d.000001 out %d", i,
                     i);
        json_object_array_add(logs, json_object_new_string(line));
    }
}

/* Entity "pub": projects p0..p2 with runs r0..r2; p0/r0 has the console,
 * five files and three artifacts of three files. */
static void seed(void)
{
    struct json_object *s = json_object_new_object();
    struct json_object *projects = json_object_new_array();
    for (int p = 0; p < 3; p++) {
        struct json_object *pr = json_object_new_object();
        char name[16];
        snprintf(name, sizeof(name), "p%d", p);
        json_object_object_add(pr, "entity", json_object_new_string("pub"));
        json_object_object_add(pr, "name", json_object_new_string(name));
        struct json_object *runs = json_object_new_array();
        for (int r = 0; r < 3; r++) {
            struct json_object *run = json_object_new_object();
            char rn[16];
            snprintf(rn, sizeof(rn), "r%d", r);
            json_object_object_add(run, "name", json_object_new_string(rn));
            struct json_object *h = json_object_new_array();
            for (int i = 0; i < 3; i++) {
                char row[96];
                snprintf(row, sizeof(row), "{\"_step\":%d,\"_timestamp\":"
                         "1700000000.5,\"loss\":%d.5}", i, i + p + r);
                json_object_array_add(h, json_object_new_string(row));
            }
            json_object_object_add(run, "history", h);
            if (p == 0 && r == 0) {
                struct json_object *logs = json_object_new_array();
                console(logs);
                json_object_object_add(run, "logs", logs);
                struct json_object *files = json_object_new_array();
                for (int f = 0; f < 5; f++) {
                    struct json_object *fo = json_object_new_object();
                    char fn[32], content[32];
                    snprintf(fn, sizeof(fn), "file%d.txt", f);
                    snprintf(content, sizeof(content), "content %d\n", f);
                    json_object_object_add(fo, "name", json_object_new_string(fn));
                    json_object_object_add(fo, "content",
                                           json_object_new_string(content));
                    json_object_array_add(files, fo);
                }
                json_object_object_add(run, "files", files);
                struct json_object *arts = json_object_new_array();
                for (int a = 0; a < 3; a++) {
                    struct json_object *ao = json_object_new_object();
                    char an[16];
                    snprintf(an, sizeof(an), "ds%d", a);
                    json_object_object_add(ao, "name", json_object_new_string(an));
                    struct json_object *af = json_object_new_array();
                    for (int f = 0; f < 3; f++) {
                        struct json_object *fo = json_object_new_object();
                        char fp[32], content[32];
                        snprintf(fp, sizeof(fp), "d/f%d.bin", f);
                        snprintf(content, sizeof(content), "art %d file %d", a, f);
                        json_object_object_add(fo, "path", json_object_new_string(fp));
                        json_object_object_add(fo, "content",
                                               json_object_new_string(content));
                        json_object_array_add(af, fo);
                    }
                    json_object_object_add(ao, "files", af);
                    json_object_array_add(arts, ao);
                }
                json_object_object_add(run, "artifacts", arts);
            }
            json_object_array_add(runs, run);
        }
        json_object_object_add(pr, "runs", runs);
        json_object_array_add(projects, pr);
    }
    json_object_object_add(s, "projects", projects);
    assert_int_equal(wsrv_post("/__emu/seed", json_object_to_json_string(s)), 0);
    json_object_put(s);
}

static int download(const char *what, const char *out)
{
    const char *dl[] = {"download", "-q", "--from", "wandb", what, "-o", out,
                        "--opt", "page-size=2", "--opt", "log-page=4", NULL};
    char *err = NULL;
    int rc = tu_run_xport(NULL, &err, dl);
    if (rc)
        print_message("%s", err);
    free(err);
    return rc;
}

/* The console lines of a downloaded run, checked line by line. */
static void check_console(const char *layout, const char *run_dir)
{
    char *dir = wsrv_path(layout, run_dir);
    char *f = wsrv_path(dir, "logs/logs.jsonl");
    char *s = tu_slurp(f);
    assert_non_null(s);
    char *p = s;
    for (int i = 0; i < NLINES; i++) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        struct json_object *o = json_tokener_parse(p);
        assert_non_null(o);
        assert_int_equal(json_object_get_int(xp_json_get(o, "sequenceNumber")), i);
        char want[64];
        const char *stream = xp_json_str(o, "stream");
        const char *level = xp_json_str(o, "level");
        const char *label = xp_json_str(xp_json_get(o, "metadata"), "label");
        if (i % 5 == 3) {
            snprintf(want, sizeof(want), "err %d", i);
            assert_string_equal(stream, "stderr");
            assert_string_equal(level, "error");
            assert_non_null(label);
            assert_string_equal(label, "rank-1");
        } else if (i % 5 == 4) {
            snprintf(want, sizeof(want), "Traceback line %d", i);
            assert_string_equal(stream, "stderr");
            assert_string_equal(level, "error");
            assert_null(label);
        } else {
            snprintf(want, sizeof(want), "out %d", i);
            assert_string_equal(stream, "stdout");
            assert_null(level);
            assert_null(label);
        }
        assert_string_equal(xp_json_str(o, "message"), want);
        json_object_put(o);
        p = nl + 1;
    }
    assert_string_equal(p, "");
    free(s);
    free(f);
    free(dir);
}

/* Every document the emulator received: it refused any outside the
 * public set (strict_fields), so the download or upload would have
 * failed; the names say which public documents were followed. */
static size_t check_documents(size_t from, const char *const *must)
{
    struct json_object *d = wsrv_get_json("/__emu/documents");
    const char *const k[] = {"documents", NULL};
    struct json_object *docs = wsrv_dig(d, k);
    size_t n = json_object_array_length(docs);
    assert_true(n > from);
    for (size_t i = from; i < n; i++) {
        const char *q = json_object_get_string(json_object_array_get_idx(docs, i));
        /* pageInfo only: an edge's cursor is never asked for */
        assert_null(strstr(q, "cursor }"));
        assert_null(strstr(q, "} cursor"));
    }
    for (const char *const *m = must; *m; m++) {
        int found = 0;
        for (size_t i = from; i < n && !found; i++)
            found = strstr(json_object_get_string(json_object_array_get_idx(docs, i)),
                           *m) != NULL;
        if (!found)
            fail_msg("no document '%s' was sent", *m);
    }
    json_object_put(d);
    return n;
}

static void pages_everywhere(void **state)
{
    (void)state;
    seed();
    assert_int_equal(wsrv_post("/__emu/config", "{\"log_page_max\":3}"), 0);
    char *l1 = wsrv_path(wsrv_tmp, "pub1");
    assert_int_equal(download("pub", l1), 0);
    check_console(l1, "pub/p0/r0");
    const char *const read_ops[] = {
        "query GetProjects(", "query Runs(", "query Run(", "query HistoryPage(",
        "query RunConsoleLogPage(", "query RunFiles(", "query RunOutputArtifacts(",
        "query ArtifactManifest(", "query ArtifactFileURLs(", NULL};
    size_t seen = check_documents(0, read_ops);

    /* and back up into another project, read again: the same */
    const char *up[] = {"copy", "-q", l1, "wandb:pub2/back", NULL};
    char *err = NULL;
    int rc = tu_run_xport(NULL, &err, up);
    if (rc)
        print_message("%s", err);
    free(err);
    assert_int_equal(rc, 0);
    const char *const write_ops[] = {
        "query RunResumeStatus(", "mutation UpsertBucket(",
        "mutation CreateRunFiles(", "mutation CreateArtifact(",
        "mutation CreateArtifactManifest(", "mutation CreateArtifactFiles(",
        "mutation CommitArtifact(", "query ArtifactByID(", NULL};
    check_documents(seen, write_ops);
    char *l2 = wsrv_path(wsrv_tmp, "pub2");
    assert_int_equal(download("pub2/back", l2), 0);
    check_console(l2, "pub2/back/r0");

    /* stderr goes up as W&B's client sends it: "ERROR <time> [label] " */
    struct json_object *d = wsrv_get_json("/__emu/dump?logs=1&history=0");
    const char *const rk[] = {"entities", "pub2", "projects", "back", "runs",
                              "r0", "logs", NULL};
    struct json_object *logs = wsrv_dig(d, rk);
    assert_int_equal(json_object_array_length(logs), NLINES);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(logs, 3)),
                        "ERROR 2024-01-01T00:00:03.000000 [rank-1] err 3");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(logs, 4)),
                        "ERROR 2024-01-01T00:00:04.250000 Traceback line 4");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(logs, 0)),
                        "2024-01-01T00:00:00.000001 out 0");
    json_object_put(d);
    free(l1);
    free(l2);
}

static void legacy_console(void **state)
{
    (void)state;
    seed();
    /* a server before 0.77: rejects useImprovedPagination; its legacy
     * resolver pages from the end */
    assert_int_equal(wsrv_post("/__emu/config",
                               "{\"log_lines_legacy\":true,\"log_legacy_page\":5}"),
                     0);
    char *l1 = wsrv_path(wsrv_tmp, "legacy");
    assert_int_equal(download("pub/p0", l1), 0);
    check_console(l1, "pub/p0/r0");
    const char *const ops[] = {"query RunConsoleLogTail(", NULL};
    check_documents(0, ops);
    free(l1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(pages_everywhere, wsrv_reset),
        cmocka_unit_test_setup(legacy_console, wsrv_reset),
    };
    return cmocka_run_group_tests_name("wandb_public", tests, wsrv_setup,
                                       wsrv_teardown);
}
