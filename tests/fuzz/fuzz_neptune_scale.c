/* Feeds operations of a neptune-scale run to the neptune-scale adapter
 * (adapters/neptune/nps_*.c): the input is a list of records
 * [type: 1 byte][length: 2 bytes, little-endian][operation: length bytes]
 * (type 0 UpdateRunSnapshot, 1 CreateRun as in neptune-client-scale's
 * OperationsRepository) written as rows of run_operations in a fresh
 * run_operations.sqlite3 (the schema of tests/neptune/gen_neptune_scale.py),
 * which is listed and read through fuzz_tree.h; oracle: the sanitizers, and
 * the reader ends. */
#include <sqlite3.h>

#include "fuzz_tree.h"

static const char *const schema =
    "CREATE TABLE run_operations (sequence_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " timestamp INTEGER NOT NULL, operation_type INTEGER NOT NULL, operation BLOB NOT NULL,"
    " operation_size_bytes INTEGER NOT NULL);"
    "CREATE TABLE metadata (id INTEGER PRIMARY KEY AUTOINCREMENT, version TEXT NOT NULL,"
    " project TEXT NOT NULL, run_id TEXT NOT NULL);"
    "CREATE TABLE run_operation_submission (sequence_id INTEGER PRIMARY KEY,"
    " timestamp INTEGER NOT NULL, request_id TEXT NOT NULL);"
    "CREATE TABLE file_upload_requests (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " source_path TEXT NOT NULL, destination TEXT NOT NULL, mime_type TEXT NOT NULL,"
    " size_bytes INTEGER NOT NULL, is_temporary INTEGER NOT NULL);"
    "CREATE TABLE operation_errors (error_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " timestamp INTEGER NOT NULL, error_type TEXT NOT NULL, error_details TEXT NOT NULL,"
    " error_body TEXT NOT NULL, sequence_id INTEGER);"
    "INSERT INTO metadata (version, project, run_id) VALUES ('v5', 'ws/proj', 'run-1');";

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char dir[4200], db[4300];
    snprintf(dir, sizeof(dir), "%s/ws_proj_run-1_1767323045000000000", fuzz_tree_dir());
    mkdir(dir, 0700);
    snprintf(db, sizeof(db), "%s/run_operations.sqlite3", dir);
    unlink(db);
    sqlite3 *c;
    if (sqlite3_open(db, &c) != SQLITE_OK || sqlite3_exec(c, schema, NULL, NULL, NULL) != SQLITE_OK)
        abort();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c, "INSERT INTO run_operations (timestamp, operation_type, operation,"
                              " operation_size_bytes) VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        abort();
    sqlite3_exec(c, "BEGIN", NULL, NULL, NULL);
    size_t i = 0;
    for (int64_t ms = 1767323045000; i + 3 <= size; ms += 7) {
        size_t len = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
        if (len > size - i - 3)
            len = size - i - 3;
        sqlite3_bind_int64(st, 1, ms);
        sqlite3_bind_int(st, 2, data[i] & 1);
        sqlite3_bind_blob(st, 3, data + i + 3, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)len);
        sqlite3_step(st);
        sqlite3_reset(st);
        i += 3 + len;
    }
    sqlite3_exec(c, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(st);
    sqlite3_close(c);
    fuzz_tree_read("neptune-scale", NULL);
    return 0;
}
