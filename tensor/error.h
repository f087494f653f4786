/* Error model: no function aborts or exits on bad input.
 *
 * A failing call returns NULL (functions returning a tensor) or -1 (functions
 * returning int) and records a message that says what went wrong and where:
 * "tensor/iter.c:42: add: shapes (2,3) and (4,3) cannot broadcast".
 * A call given a NULL tensor from an earlier failure returns NULL and keeps
 * the earlier message, so a chain of calls can be checked once at its end.
 * More generally, every public function checks its pointers for NULL and
 * its integers for range, and records what it refuses ("view: shape is
 * NULL"; a NULL tensor with no earlier message: "add: argument 1 is
 * NULL"), so the message is never empty after a failure. Functions that give something back
 * (tg_release, *_free, *_clear, *_close) take NULL as a no-op, as free()
 * does. Messages are per thread. */
#ifndef TG_ERROR_H
#define TG_ERROR_H

#include <stdarg.h>

#include "tensor/export.h"

/* The message of the most recent failure on this thread, or "" if none. */
TG_API const char *tg_last_error(void);

/* Forget the recorded failure. */
TG_API void tg_clear_error(void);

/* Record a failure; used by the library through TG_FAIL. Returns -1.
 * A NULL file or fmt records "?" in its place. */
TG_API int tg_set_error(const char *file, int line, const char *fmt, ...)
           __attribute__((format(printf, 3, 4)));

/* Record a failure with its location; evaluates to -1. */
#define TG_FAIL(...) tg_set_error(__FILE__, __LINE__, __VA_ARGS__)

#endif
