/* libFuzzer harness: tg_train_same_config, which parses the configs a run
 * keeps in its checkpoint and compare's settings file, on the input split
 * in two at its first newline. The answer must be symmetric, and a JSON
 * text must say the same as itself printed back the way compare writes
 * settings.json (OUT_JSON_FLAGS), or a re-run would be refused. */
#include <stdlib.h>
#include <string.h>

#include "out_files.h"
#include "train/run.h"

/* text parsed and printed as compare's file_holds does; NULL if not JSON. */
static char *printed_back(const char *text)
{
    json_t *root = json_loads(text, 0, NULL);
    char *back = root ? json_dumps(root, OUT_JSON_FLAGS) : NULL;
    json_decref(root);
    return back;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 1);
    if (!a) abort();
    memcpy(a, data, size);
    a[size] = '\0';
    char *newline = memchr(a, '\n', size), *b = newline ? newline + 1 : a + size;
    if (newline) *newline = '\0';
    if (tg_train_same_config(a, b) != tg_train_same_config(b, a)) abort();
    char *back = printed_back(a);
    if (back && !tg_train_same_config(back, a)) abort();
    free(back);
    free(a);
    return 0;
}
