/* Zip archives on libzip: listing and extracting them with every check a
 * hostile archive calls for in one place (zip-slip "../", absolute paths,
 * backslashes, symlinks, duplicate names, and size bombs: declared against
 * real sizes, a total cap and a compression-ratio cap), and writing one
 * atomically (temp file, fsync, rename). Comet's offline archives and
 * Neptune's file sets are zips. */
#ifndef XPORT_ZIP_H
#define XPORT_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What an extraction may cost; 0 in a field means "no limit". */
struct xp_zip_limits {
    uint64_t max_total;   /* sum of the entries' uncompressed sizes */
    uint64_t max_entry;   /* one entry's uncompressed size */
    uint64_t max_entries; /* number of entries */
    uint32_t max_ratio;   /* uncompressed : compressed, for entries ... */
    uint64_t ratio_floor; /* ... larger than this many bytes */
};

/* Defaults: 16 GiB in all, 1,000,000 entries, no per-entry cap, and a
 * ratio of at most 200:1 for entries over 1 MiB. */
void xp_zip_limits_init(struct xp_zip_limits *l);

struct xp_zip;

struct xp_zip_entry {
    const char *name;  /* as stored (borrowed from the archive) */
    uint64_t size;     /* declared uncompressed size */
    uint64_t csize;    /* compressed size */
    uint32_t crc;
    int is_dir;        /* name ends in '/' */
    int is_symlink;    /* a Unix symlink by its external attributes */
};

/* Open the archive at path for reading (its central directory is checked
 * for consistency). */
int xp_zip_open(struct xp_zip **out, const char *path);
void xp_zip_close(struct xp_zip *z);
size_t xp_zip_count(const struct xp_zip *z);
/* Entry i; its name stays valid until xp_zip_close. */
int xp_zip_entry(struct xp_zip *z, size_t i, struct xp_zip_entry *out);
/* Index of the entry named name; XP_ENOTFOUND when there is none. */
int xp_zip_find(struct xp_zip *z, const char *name, size_t *index);

/* Is name a safe relative path to extract to (no "..", ".", empty or
 * absolute segments, no backslash, valid UTF-8)? A trailing '/' (a
 * directory entry) is allowed. */
int xp_zip_name_safe(const char *name);

/* Check every entry against lim (NULL: the defaults) without extracting:
 * names, types, duplicates, declared sizes and ratios, and that the
 * entries' compressed data fit in the archive. The error names the entry. */
int xp_zip_check(struct xp_zip *z, const struct xp_zip_limits *lim);

/* Extract every entry under root (created if missing), after
 * xp_zip_check passes: files are written atomically, a directory on the
 * way that is a symlink is refused, and an entry whose data is longer or
 * shorter than it declares fails the extraction. Files extracted before a
 * failure stay; extract into a fresh folder. */
int xp_zip_extract(struct xp_zip *z, const char *root,
                   const struct xp_zip_limits *lim);

/* Read entry i into out (reset first), refused above max bytes and when
 * its data does not match its declared size. */
int xp_zip_read(struct xp_zip *z, size_t i, struct xp_buf *out, size_t max);
/* Read entry i chunk by chunk (up to 64 KiB each) through fn, which may stop
 * the read with an error; the same checks as xp_zip_read, without a limit. */
int xp_zip_read_chunks(struct xp_zip *z, size_t i,
                       int (*fn)(void *payload, const void *data, size_t len),
                       void *payload);

/* ---- writing ------------------------------------------------------------ */

struct xp_zip_writer;

/* Start a new archive that will replace path when committed; nothing is
 * at path before xp_zip_commit succeeds. */
int xp_zip_create(struct xp_zip_writer **out, const char *path);
/* Add an entry from memory (copied) or from a file on disk (read at
 * commit). name must pass xp_zip_name_safe and not be a directory. */
int xp_zip_add_mem(struct xp_zip_writer *w, const char *name,
                   const void *data, size_t len);
int xp_zip_add_file(struct xp_zip_writer *w, const char *name,
                    const char *src_path);
/* Write the archive to a temporary file, fsync it and rename it over the
 * path (then fsync the folder); frees w whatever happens. */
int xp_zip_commit(struct xp_zip_writer *w);
/* Drop the archive being written; frees w. */
void xp_zip_abort(struct xp_zip_writer *w);

#endif
