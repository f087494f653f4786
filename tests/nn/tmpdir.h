/* A temporary directory per test, for the file tests of tests/nn. */
#ifndef NN_TMPDIR_H
#define NN_TMPDIR_H

/* The current test's directory ("/tmp/tg_nn_XXXXXX" once made). */
extern char tmpdir_path[64];

/* Makes a fresh directory (a Check fixture's setup). */
void tmpdir_make(void);
/* Removes it and what the test left in it: files and empty directories. */
void tmpdir_remove(void);
/* buf (256 bytes) = tmpdir_path/name; returns buf. */
char *tmpdir_file(char *buf, const char *name);

#endif
