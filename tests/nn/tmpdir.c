/* A temporary directory per test (see tmpdir.h). */
#include "tmpdir.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char tmpdir_path[64];

void tmpdir_make(void)
{
    strcpy(tmpdir_path, "/tmp/tg_nn_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir_path));
}

void tmpdir_remove(void)
{
    DIR *d = opendir(tmpdir_path);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir_path, e->d_name);
        remove(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir_path);
}

char *tmpdir_file(char *buf, const char *name)
{
    snprintf(buf, 256, "%s/%s", tmpdir_path, name);
    return buf;
}
