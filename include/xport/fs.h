/* File system helpers: atomic writes, safe joins, directory walking.
 * Paths are plain C strings; returned strings are owned by the caller. */
#ifndef XPORT_FS_H
#define XPORT_FS_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

/* An atomically written file: data goes to "<path>.xport-tmp-<pid>-<n>",
 * which commit fsyncs and renames over path (and fsyncs the directory).
 * Write errors are sticky and reported by commit. */
struct xp_sha256;
struct xp_afile {
    FILE *fp;
    char *path;
    char *tmp;
    int err; /* first XP_E* seen, sticky */
    struct xp_sha256 *hash; /* see xp_afile_hash; NULL: none */
    int64_t bytes;          /* written so far */
};

int xp_afile_open(struct xp_afile *f, const char *path);
/* xp_afile_open of dir/name, creating dir (and its parents) first. */
int xp_afile_open_in(struct xp_afile *f, const char *dir, const char *name);
void xp_afile_write(struct xp_afile *f, const void *data, size_t len);
/* Feed every byte written from now on into h (borrowed), so that a writer
 * learns the file's SHA-256 without reading it back. */
void xp_afile_hash(struct xp_afile *f, struct xp_sha256 *h);
void xp_afile_buf(struct xp_afile *f, struct xp_buf *b); /* write and reset */
int xp_afile_commit(struct xp_afile *f);
void xp_afile_abort(struct xp_afile *f); /* remove the temp file */

/* The temporary name xp_afile_open would use for path; caller frees. */
char *xp_tmp_name(const char *path);
/* Remove the temporary files of path (xp_tmp_name's, and the journal's
 * PATH.xport-tmp-PID) that a process no longer alive left: one killed
 * before its rename. Those of live writers are kept. A folder so named
 * (created with xp_tmp_name, as an archive's staging is) goes whole. */
void xp_tmp_clean(const char *path);
/* Commit a temporary file written by other means (a library that writes
 * by path): fsync tmp, rename it over path, fsync the folder. tmp is
 * removed on failure. */
int xp_file_commit(const char *tmp, const char *path);

/* Whole-file atomic write. */
int xp_write_file_atomic(const char *path, const void *data, size_t len);
/* Read a whole file (refused above max bytes). */
int xp_read_file(struct xp_buf *out, const char *path, size_t max);

int xp_mkdir_p(const char *path);
int xp_fsync_dir(const char *path);
int xp_rm_rf(const char *path);
int xp_is_dir(const char *path);
int xp_is_file(const char *path);
/* The same without following a symbolic link: what a reader walking a
 * user's folder takes, so that a link cannot lead it outside. */
int xp_is_real_dir(const char *path);
int xp_is_real_file(const char *path);

/* A path segment is safe when it is non-empty, not "." or "..", has no '/'
 * or NUL and is valid UTF-8. Names from servers and files must pass this
 * (or be encoded with xp_name_encode) before reaching a path. */
int xp_segment_safe(const char *seg);
/* Check a relative '/'-separated path: every segment safe, not absolute. */
int xp_relpath_safe(const char *rel);

/* Reversible file-name encoding of any UTF-8 name: '%', '/', '\\', control
 * characters, the characters Windows forbids (:*?"<>|), a leading '.' and
 * a trailing space or '.' become %XX; other UTF-8 is kept. Names whose
 * encoding would exceed 200 bytes are cut and get "~<12 hex of sha256>".
 * Fails with XP_EINVALID for invalid UTF-8. */
int xp_name_encode(struct xp_buf *out, const char *name);
/* Inverse of xp_name_encode (not for cut names: their metadata holds the
 * full name). */
int xp_name_decode(struct xp_buf *out, const char *enc);

/* List a directory's entry names (not "." ".."), sorted bytewise.
 * *out is a NULL-terminated array; free with xp_strv_free. */
int xp_list_dir(char ***out, size_t *n, const char *path);
void xp_strv_free(char **v);

/* Create a private directory "$TMPDIR/xport-live-ID/<prefix>-XXXXXX"
 * (TMPDIR unset: /tmp; xport-live-ID is this process's, and a later process
 * removes it once this one has ended, killed or not: core/tmpdir.c); *out
 * is its path, owned by the caller (remove it with xp_rm_rf). */
int xp_tempdir(char **out, const char *prefix);
/* Remove the temporary folders of xport processes that have ended (the
 * first xp_tempdir does it too): the CLI's start. */
void xp_tempdir_sweep(void);

/* Join a and b with '/'. */
char *xp_path_join(const char *a, const char *b);

#endif
