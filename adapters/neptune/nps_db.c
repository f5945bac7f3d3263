/* A neptune-scale run_operations.sqlite3 read through libsqlite3 without
 * ever writing to the user's folder (schema: neptune-ai/neptune-client-scale
 * src/neptune_scale/sync/operations_repository.py, DB_VERSION "v5").
 *
 * How it is opened. The client keeps the database in WAL mode, so a run
 * that was killed (or never synced) may hold committed rows only in the
 * `-wal` file beside it. `immutable=1` would read the main file alone and
 * miss them; a read-only open (`mode=ro`) of a WAL database needs the
 * `-shm` index, and SQLite creates it (a write into the user's folder) when
 * it is missing and the folder is writable, or fails when it is not. So the
 * database and its -wal are copied into a private temporary folder and
 * the copy is opened: SQLite rebuilds the wal-index from the copied WAL
 * (frames carry checksums, so a torn last frame is dropped as SQLite itself
 * would drop it), and whatever it writes (the
 * -shm, a checkpoint) lands in that folder, removed at close. The -shm is
 * never copied: it is only a cache of the WAL. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "nps.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/sysio.h"

struct nps_db {
    sqlite3 *h;
    char *path; /* the user's file */
    char *tmp;  /* the private folder */
    char *version, *project, *run_id;
};

const char *nps_db_path(const struct nps_db *db)
{
    return db->path;
}

/* Copy src to dst (a new file); 0 when src does not exist and may_miss. */
static int copy_file(const char *src, const char *dst, int may_miss)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) {
        if (may_miss && errno == ENOENT)
            return 0;
        return xp_error_set_os(XP_EIO, "cannot open '%s'", src);
    }
    struct stat st;
    if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
        close(in);
        return xp_error_set(XP_EINVALID, "'%s' is not a regular file", src);
    }
    int out = xp_sys_open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return xp_error_set_os(XP_EIO, "cannot create '%s'", dst);
    }
    char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xp_error_set_os(XP_EIO, "cannot read '%s'", src);
            break;
        }
        if (!n)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = xp_sys_write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = xp_error_set_os(XP_EIO, "cannot write '%s'", dst);
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    close(in);
    close(out);
    return rc;
}

static int sql_error(struct nps_db *db, int code, const char *where)
{
    return xp_error_set(code == SQLITE_CORRUPT || code == SQLITE_NOTADB
                            ? XP_EINVALID
                            : XP_EIO,
                        "cannot read '%s' (%s): %s", db->path, where,
                        db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(code));
}

void nps_db_close(struct nps_db *db)
{
    if (!db)
        return;
    sqlite3_close(db->h);
    if (db->tmp)
        xp_rm_rf(db->tmp);
    free(db->tmp);
    free(db->path);
    free(db->version);
    free(db->project);
    free(db->run_id);
    free(db);
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xp_strndup((const char *)s, (size_t)sqlite3_column_bytes(st, i))
             : NULL;
}

static int read_meta(struct nps_db *db)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h,
                                "SELECT version, project, run_id FROM metadata "
                                "ORDER BY id LIMIT 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_error(db, rc, "table metadata");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        db->version = col_text(st, 0);
        db->project = col_text(st, 1);
        db->run_id = col_text(st, 2);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = xp_error_set(XP_EINVALID,
                          "'%s' has no metadata row (not a neptune-scale run, "
                          "or one whose client stopped before writing it)",
                          db->path);
    } else {
        rc = sql_error(db, rc, "table metadata");
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if (!db->version || strcmp(db->version, "v5"))
        return xp_error_set(XP_EINVALID,
                            "'%s' is a neptune-scale database of version '%s'; "
                            "only version 'v5' is known", db->path,
                            db->version ? db->version : "");
    if (!db->project || !db->run_id)
        return xp_error_set(XP_EINVALID, "'%s': the metadata row has no project "
                            "or run_id", db->path);
    return 0;
}

int nps_db_open(struct nps_db **out, const char *dbpath)
{
    *out = NULL;
    struct nps_db *db = xp_calloc(1, sizeof(*db));
    db->path = xp_strdup(dbpath);
    int rc = xp_tempdir(&db->tmp, "xport-nps");
    char *copy = NULL, *wal = NULL, *wcopy = NULL;
    if (!rc) {
        copy = xp_path_join(db->tmp, "run_operations.sqlite3");
        wcopy = xp_path_join(db->tmp, "run_operations.sqlite3-wal");
        wal = xp_malloc(strlen(dbpath) + 5);
        strcpy(wal, dbpath);
        strcat(wal, "-wal");
        /* the files of a run whose client is gone are copied exactly; of
         * a client still writing, the copy is as good as a copy of a live
         * database can be (and SQLite drops WAL frames that do not check) */
        rc = copy_file(wal, wcopy, 1);
        if (!rc)
            rc = copy_file(dbpath, copy, 0);
    }
    if (!rc) {
        int s = sqlite3_open_v2(copy, &db->h,
                                SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (s != SQLITE_OK)
            rc = sql_error(db, s, "opening a private copy");
        else
            sqlite3_extended_result_codes(db->h, 0);
    }
    if (!rc) {
        char *err = NULL;
        int s = sqlite3_exec(db->h, "PRAGMA query_only = 1", NULL, NULL, &err);
        sqlite3_free(err);
        if (s != SQLITE_OK)
            rc = sql_error(db, s, "opening a private copy");
    }
    if (!rc)
        rc = read_meta(db);
    free(copy);
    free(wal);
    free(wcopy);
    if (rc) {
        nps_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* The metadata row straight from the user's file, opened with
 * `immutable=1` (read-only, no lock, no -shm, the WAL ignored): listing
 * then costs no copy. The row is the client's first write, so it is in the
 * main file once SQLite has checkpointed; when it is not there yet (a
 * small run whose pages are all in the WAL) or anything goes wrong, the
 * caller falls back to nps_db_open. */
int nps_db_peek(const char *dbpath, char **version, char **project, char **run_id)
{
    static const char hx[] = "0123456789ABCDEF";
    struct xp_buf uri = XP_BUF_INIT;
    xp_buf_puts(&uri, "file:");
    for (const unsigned char *p = (const unsigned char *)dbpath; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("/-_.~", *p)) {
            xp_buf_putc(&uri, (char)*p);
        } else {
            char e[3] = {'%', hx[*p >> 4], hx[*p & 15]};
            xp_buf_put(&uri, e, 3);
        }
    }
    xp_buf_puts(&uri, "?mode=ro&immutable=1");
    struct nps_db db = {0};
    db.path = (char *)dbpath;
    int rc = -1;
    if (sqlite3_open_v2(uri.ptr, &db.h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
                                            SQLITE_OPEN_NOMUTEX,
                        NULL) == SQLITE_OK)
        rc = read_meta(&db);
    sqlite3_close(db.h);
    xp_buf_release(&uri);
    xp_error_clear();
    if (rc) {
        free(db.version);
        free(db.project);
        free(db.run_id);
        return -1;
    }
    *version = db.version;
    *project = db.project;
    *run_id = db.run_id;
    return 0;
}

int nps_db_meta(struct nps_db *db, const char **version, const char **project,
                const char **run_id)
{
    *version = db->version;
    *project = db->project;
    *run_id = db->run_id;
    return 0;
}

int nps_db_operations(struct nps_db *db, nps_op_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h,
                                "SELECT sequence_id, timestamp, operation_type, "
                                "operation FROM run_operations ORDER BY sequence_id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_error(db, rc, "table run_operations");
    int64_t last = 0;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            char where[96];
            if (last)
                snprintf(where, sizeof(where), "table run_operations, the row "
                         "after sequence_id %lld", (long long)last);
            else
                snprintf(where, sizeof(where), "table run_operations, its first row");
            rc = sql_error(db, rc, where);
            break;
        }
        last = sqlite3_column_int64(st, 0);
        const void *blob = sqlite3_column_blob(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        rc = cb(payload, last, sqlite3_column_int64(st, 1),
                sqlite3_column_int64(st, 2), blob ? blob : "", len);
        if (rc)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

int64_t nps_db_max_seq(struct nps_db *db)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db->h,
                           "SELECT seq FROM sqlite_sequence WHERE name = "
                           "'run_operations'",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Rows of a query as an array of objects, columns by their names. */
static int rows_json(struct nps_db *db, const char *sql, const char *table,
                     struct json_object **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        /* an older database may lack the table: nothing in it then */
        const char *m = sqlite3_errmsg(db->h);
        if (strstr(m, "no such table")) {
            *out = json_object_new_array();
            return 0;
        }
        return sql_error(db, rc, table);
    }
    struct json_object *arr = json_object_new_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct json_object *o = json_object_new_object();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            struct json_object *v = NULL;
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                v = json_object_new_int64(sqlite3_column_int64(st, i));
                break;
            case SQLITE_NULL:
                break;
            default: {
                char *s = col_text(st, i);
                v = json_object_new_string(s ? s : "");
                free(s);
            }
            }
            json_object_object_add(o, sqlite3_column_name(st, i), v);
        }
        json_object_array_add(arr, o);
    }
    if (rc != SQLITE_DONE) {
        rc = sql_error(db, rc, table);
        sqlite3_finalize(st);
        json_object_put(arr);
        return rc;
    }
    sqlite3_finalize(st);
    *out = arr;
    return 0;
}

int nps_db_files(struct nps_db *db, struct json_object **out)
{
    return rows_json(db,
                     "SELECT id, source_path, destination, mime_type, size_bytes, "
                     "is_temporary FROM file_upload_requests ORDER BY id",
                     "table file_upload_requests", out);
}

int nps_db_errors(struct nps_db *db, struct json_object **out)
{
    return rows_json(db,
                     "SELECT error_id, timestamp, error_type, error_details, "
                     "sequence_id FROM operation_errors ORDER BY error_id",
                     "table operation_errors", out);
}
