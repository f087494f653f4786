/* The step profiler linked into prof_resnet (see prof_wrap.c). */
#ifndef TG_BENCH_PROF_WRAP_H
#define TG_BENCH_PROF_WRAP_H

#include <stdio.h>

void prof_reset(void);
void prof_step_begin(void);
void prof_step_end(void);
/* The breakdown per step since the last reset, as a Markdown table. */
void prof_print(FILE *f);

#endif
