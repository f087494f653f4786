/* A temporary directory per test (see tmpdir.h). */
#include "tmpdir.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char tmpdir_path[64];

void tmpdir_make(void)
{
    strcpy(tmpdir_path, "/tmp/tg_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir_path));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void tmpdir_remove(void)
{
    nftw(tmpdir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *tmpdir_file(char *buf, const char *name)
{
    snprintf(buf, 256, "%s/%s", tmpdir_path, name);
    return buf;
}
