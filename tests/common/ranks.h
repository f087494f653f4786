/* What the tests that run under mpirun share: a Check suite run on every
 * rank of the job, and a check that a tensor is the same on every rank. */
#ifndef TESTS_COMMON_RANKS_H
#define TESTS_COMMON_RANKS_H

#include <check.h>

#include "tensorgrad.h"

/* Joins the job, runs s on this rank (no fork), and returns the exit
 * status: failure on every rank when any rank failed a check. */
int run_on_every_rank(Suite *s, int *argc, char ***argv);

/* Fails the check unless every rank's t (float32 or int64, contiguous)
 * holds rank 0's bits; name says which tensor. */
void assert_same_on_every_rank(tg_tensor *t, const char *name);

#endif
