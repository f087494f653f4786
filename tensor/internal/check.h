/* Argument checks at the entry of public functions, so that no argument
 * can crash the library (see tensor/error.h):
 *
 *   if (TG_NEED("view", t, shape) || TG_NEED_RANGE("view", ndim, 0, TG_MAX_DIMS)) return NULL;
 *
 * TG_NEED fails on the first NULL of up to 6 pointers: a NULL tensor keeps
 * a message already recorded (the NULL is most likely the result of that
 * failure), anything else records "view: shape is NULL". TG_NEED_RANGE
 * fails when an integer is outside [lo, hi]: "set_num_threads: n is 32768,
 * not in [1, 1024]"; TG_NEED_MIN when it is below lo: "hflip: h is -1,
 * below 0". Each evaluates to 0, or -1 after a failure. */
#ifndef TG_INTERNAL_CHECK_H
#define TG_INTERNAL_CHECK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "tensor/error.h"
#include "tensor/tensor.h"

typedef struct {
    const void *p;
    bool tensor; /* a tensor, which a failed call may have left NULL */
} tg_pointer_arg;

#define TG_NEED(fn, ...)                                                                                 \
    tg_need_pointers(__FILE__, __LINE__, fn, #__VA_ARGS__,                                              \
                     (const tg_pointer_arg[]){TG_ARGS_(TG_COUNT_(__VA_ARGS__), __VA_ARGS__)},            \
                     TG_COUNT_(__VA_ARGS__))
#define TG_NEED_RANGE(fn, v, lo, hi)                                                                     \
    (((v) >= (lo) && (v) <= (hi)) ? 0                                                                    \
                                  : tg_need_range(__FILE__, __LINE__, fn, #v, (long long)(v), (long long)(lo), \
                                                  (long long)(hi)))
#define TG_NEED_MIN(fn, v, lo) \
    ((v) >= (lo) ? 0 : tg_need_range(__FILE__, __LINE__, fn, #v, (long long)(v), (long long)(lo), LLONG_MAX))

/* TG_NEED's list: each pointer with whether it is a tensor. */
#define TG_ARG_(p) {(p), _Generic((p), tg_tensor *: true, const tg_tensor *: true, default: false)}
#define TG_ARGS_1(a) TG_ARG_(a)
#define TG_ARGS_2(a, ...) TG_ARG_(a), TG_ARGS_1(__VA_ARGS__)
#define TG_ARGS_3(a, ...) TG_ARG_(a), TG_ARGS_2(__VA_ARGS__)
#define TG_ARGS_4(a, ...) TG_ARG_(a), TG_ARGS_3(__VA_ARGS__)
#define TG_ARGS_5(a, ...) TG_ARG_(a), TG_ARGS_4(__VA_ARGS__)
#define TG_ARGS_6(a, ...) TG_ARG_(a), TG_ARGS_5(__VA_ARGS__)
#define TG_COUNT_(...) TG_COUNT_N_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define TG_COUNT_N_(_1, _2, _3, _4, _5, _6, n, ...) n
#define TG_ARGS_(n, ...) TG_JOIN_(TG_ARGS_, n)(__VA_ARGS__)
#define TG_JOIN_(a, n) a##n

/* names: the pointers' names as written, separated by commas. */
int tg_need_pointers(const char *file, int line, const char *fn, const char *names, const tg_pointer_arg *args,
                     size_t n);
/* The same for the tensor that is the position-th argument (from 1) of fn. */
int tg_need_argument(const char *file, int line, const char *fn, int position);
int tg_need_range(const char *file, int line, const char *fn, const char *name, long long v, long long lo,
                  long long hi);

#endif
