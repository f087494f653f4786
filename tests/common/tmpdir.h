/* A temporary directory per test, for the tests that write files. */
#ifndef TESTS_TMPDIR_H
#define TESTS_TMPDIR_H

/* The current test's directory ("/tmp/tg_test_XXXXXX" once made). */
extern char tmpdir_path[64];

/* Makes a fresh directory (a Check fixture's setup). */
void tmpdir_make(void);
/* Removes it and everything the test left in it, subdirectories included. */
void tmpdir_remove(void);
/* buf (256 bytes) = tmpdir_path/name; returns buf. */
char *tmpdir_file(char *buf, const char *name);

#endif
