/* Scopes for intermediates (scope.h): a per-thread stack of frames, each
 * the tensors one scope holds a reference to. A barrier frame
 * (tg_capture_pause) holds nothing and stops tg_keep from handing a
 * tensor past it. */
#include "autograd/scope.h"

#include <stdlib.h>

#include "autograd/internal/capture.h"
#include "tensor/internal/check.h"

typedef struct {
    tg_tensor **held;
    int n, cap;
    bool barrier;
} frame;

static _Thread_local frame *frames;
static _Thread_local int depth, capacity;

static int push(bool barrier)
{
    if (depth == capacity) {
        int cap = capacity ? 2 * capacity : 8;
        frame *grown = realloc(frames, (size_t)cap * sizeof *grown);
        if (!grown) return TG_FAIL("scope_begin: out of memory");
        frames = grown;
        capacity = cap;
    }
    frames[depth++] = (frame){.barrier = barrier};
    return 0;
}

/* Releases what the top frame holds and pops it. */
static void pop(void)
{
    frame *f = &frames[--depth];
    for (int i = f->n - 1; i >= 0; i--) tg_release(f->held[i]);
    free(f->held);
    if (depth == 0) {
        free(frames);
        frames = NULL;
        capacity = 0;
    }
}

/* Adds t's reference to frame f; -1 with error if it cannot grow. */
static int hold(frame *f, tg_tensor *t)
{
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 64;
        tg_tensor **grown = realloc(f->held, (size_t)cap * sizeof *grown);
        if (!grown) return TG_FAIL("scope: out of memory holding a tensor");
        f->held = grown;
        f->cap = cap;
    }
    f->held[f->n++] = t;
    return 0;
}

int tg_scope_begin(void) { return push(false) ? -1 : depth; }

void tg_scope_end(int token)
{
    if (token < 1 || token > depth) return;
    for (int i = token - 1; i < depth; i++)
        if (frames[i].barrier) return; /* not this token's, or ended from inside a barrier */
    while (depth >= token) pop();
}

/* t's reference to the top frame, unless it is a barrier or there is none. */
static tg_tensor *adopt(tg_tensor *t)
{
    if (depth == 0 || frames[depth - 1].barrier) return t;
    if (hold(&frames[depth - 1], t)) {
        tg_release(t);
        return NULL;
    }
    return t;
}

tg_tensor *tg_scoped(tg_tensor *t) { return TG_NEED("scoped", t) ? NULL : adopt(t); }

tg_tensor *tg_keep(tg_tensor *t)
{
    if (TG_NEED("keep", t)) return NULL;
    if (depth == 0 || frames[depth - 1].barrier) return t;
    tg_retain(t);
    if (depth < 2 || frames[depth - 2].barrier) return t;
    if (hold(&frames[depth - 2], t)) {
        tg_release(t);
        return NULL;
    }
    return t;
}

tg_tensor *tg_scope_return(int token, tg_tensor *t)
{
    if (TG_NEED("scope_return", t)) { /* a failed op's NULL: its error stays */
        tg_scope_end(token);
        return NULL;
    }
    tg_retain(t);
    tg_scope_end(token);
    return adopt(t); /* to the scope the ended one was in, if any */
}

tg_tensor *tg_captured(tg_tensor *out) { return out ? adopt(out) : NULL; }

int tg_capture_pause(void) { return push(true); }

void tg_capture_resume(void)
{
    while (depth > 0 && !frames[depth - 1].barrier) pop(); /* scopes left open inside the barrier */
    if (depth > 0) pop();
}
