/* Helpers for the Comet adapter tests: write fixtures with
 * tests/comet/make_fixtures.py, and read experiments through the adapter
 * interface into a text dump that tests search. Strings returned are owned
 * by the caller. */
#ifndef XPORT_TESTS_CTEST_H
#define XPORT_TESTS_CTEST_H

/* Run make_fixtures.py WHAT DIR [ARG]; 0 on success. */
int ct_fixture(const char *what, const char *dir, const char *arg);

/* Dump every experiment adapter:path holds, in listing order: one line per
 * record ("EXP ws/proj/name status=.. tags=..", "DOC parameters {...}",
 * "SERIES metric loss", "P 3 value=f:5e-324 step=i:3 ...", "LOG 545
 * stream=- last line", "FILE path size sha256"). Returns the first
 * failure code; *out gets the dump so far, *err the error message. */
int ct_dump(char **out, char **err, const char *adapter, const char *path);

/* 1 when needle occurs in hay (and prints hay when it does not). */
int ct_has(const char *hay, const char *needle);

#endif
