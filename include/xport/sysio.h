/* The system calls that write a destination or a journal (open, write,
 * fsync, rename, mkdir), in one place so that a test build can make the Nth
 * of them fail, or kill or signal the process there or at the Nth HTTP
 * attempt (XPORT_FAULT, see core/sysio.c). */
#ifndef XPORT_SYSIO_H
#define XPORT_SYSIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

int xp_sys_open(const char *path, int flags, ...);
ssize_t xp_sys_write(int fd, const void *data, size_t len);
/* fwrite of len bytes; 0 when all were written, -1 (errno set) otherwise. */
int xp_sys_fwrite(FILE *fp, const void *data, size_t len);
/* fopen for writing (mode "w..." or "a..."), counted as an open of path. */
FILE *xp_sys_fopen(const char *path, const char *mode);
int xp_sys_fsync(int fd);
/* on != 0: this thread writes a scratch copy that another store makes
 * durable (the s3 adapter's temporary layout of one experiment), so
 * xp_sys_fsync does not wait for the disk there (on tmpfs or disk alike the
 * copy is removed after use). Returns the previous setting, to restore. */
int xp_sys_scratch(int on);
int xp_sys_rename(const char *from, const char *to);
int xp_sys_mkdir(const char *path, mode_t mode);

/* The HTTP engine's points for XPORT_FAULT (no-ops outside test builds):
 * an attempt has its whole answer, before the caller sees it; `got` of
 * `total` bytes (-1: unknown) of an answer body have arrived. */
void xp_sys_http_done(void);
void xp_sys_http_body(int64_t got, int64_t total);

#endif
