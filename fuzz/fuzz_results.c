/* libFuzzer harness: how compare reads a run's results.json and log.jsonl
 * (apps/common/json_read.c, compiled in: it is not in the library) on any
 * bytes: the file whole through json_read_file and the members compare
 * looks up, then each line as a log line. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "fuzz_tmp.h"
#include "json_read.h"

/* The members compare_results.c and compare_plots.c read. */
static const char *const keys[] = {
    "train.images",         "train.steps",        "train.steps_per_epoch",  "train.warmup_steps",
    "train.grid",           "timing.seconds",     "timing.seconds_per_step", "timing.img_s",
    "last_epoch.loss",      "last_epoch.top1_global", "last_epoch.match_near", "test.miou",
    "test.things_miou",     "test.pixel_acc",     "timing.eval_seconds",    "step",
    "loss",                 "lr",                 "",                       "a..b",
};

/* What the look-ups found, kept so that they are not optimised away. */
static volatile double sink;

static void look_up(const json_t *root)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double v = json_number_at(root, keys[i]);
        if (!isnan(v)) sink += v;
    }
    const char *kind = json_string_at(root, "kind");
    if (kind) sink += (double)strlen(kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[FUZZ_PATH_MAX];
    fuzz_write(fuzz_path(path, "results.json"), data, size);
    json_t *root = json_read_file(path);
    look_up(root);
    json_decref(root);
    for (const uint8_t *line = data, *end = data + size; line < end;) {
        const uint8_t *newline = memchr(line, '\n', (size_t)(end - line));
        size_t len = newline ? (size_t)(newline - line) + 1 : (size_t)(end - line);
        json_t *j = json_loadb((const char *)line, len, 0, NULL);
        look_up(j);
        json_decref(j);
        line += len;
    }
    return 0;
}
