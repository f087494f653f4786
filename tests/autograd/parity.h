/* Helpers shared by the PyTorch parity suites of tests/autograd
 * (test_torch_parity.c and the test_parity_*.c files): a scope that
 * releases a test's tensors together, fixture inputs, and comparisons of
 * values and gradients against torch's. */
#ifndef AUTOGRAD_PARITY_H
#define AUTOGRAD_PARITY_H

#include "suites.h"

/* The number of elements of a fixture array. */
#define N_OF(a) (int64_t)(sizeof(a) / sizeof *(a))

/* The tensors a test made, released together at its end by close_scope. */
enum { SCOPE_MAX = 64 };
typedef struct {
    tg_tensor *t[SCOPE_MAX];
    int n;
} scope;

/* Adds t to s and returns it; fails the test (with tg_last_error()) if t is
 * NULL or s is full. */
tg_tensor *keep(scope *s, tg_tensor *t);

/* Releases every tensor of s. */
void close_scope(scope *s);

/* A float32 tensor of shape holding v, kept in s; requires grad if grad. */
tg_tensor *input(scope *s, const float *v, int ndim, const int64_t *shape, bool grad);

/* Fails unless t is non-NULL, holds exactly n elements and each, in
 * logical order, is within tol relative of want's:
 * |got - want| <= tol (1 + |want|), or NaN where want is. Messages name
 * what and the index. */
void assert_close(tg_tensor *t, const float *want, int64_t n, float tol, const char *what);

/* assert_close on t's gradient, failing if t has none. */
void assert_grad(tg_tensor *t, const float *want, int64_t n, float tol, const char *what);

/* Backpropagates loss = sum(y * c), c a float32 array of y's shape (kept in
 * s); fails if backward does. */
void backprop(scope *s, tg_tensor *y, const float *c);

/* Fails unless y is NULL and the recorded error holds message. */
void expect_failure(tg_tensor *y, const char *message);

#endif
