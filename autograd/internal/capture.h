/* The library's side of scopes (autograd/scope.c): ops hand their results
 * to the current scope with tg_captured; code that calls ops and releases
 * what they return itself (composite ops, the backward engine, gradcheck)
 * runs between tg_capture_pause and tg_capture_resume, a barrier no result
 * crosses: nothing is captured there unless a scope is opened inside it,
 * and a tensor kept from that scope goes to the caller. */
#ifndef TG_CAPTURE_H
#define TG_CAPTURE_H

#include "tensor/tensor.h"

/* out handed to the current scope (NULL stays NULL; on failure out is
 * released and NULL returned with error). */
tg_tensor *tg_captured(tg_tensor *out);
/* 0, or -1 with error (out of memory); each successful pause is resumed. */
int tg_capture_pause(void);
void tg_capture_resume(void);

#endif
