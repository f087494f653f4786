/* The Check suites of tests/data, run together by main.c. */
#ifndef DATA_SUITES_H
#define DATA_SUITES_H

#include <check.h>

#endif
