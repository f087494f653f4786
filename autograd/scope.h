/* Scopes for intermediates: while a scope is open on a thread, the tensors
 * that ops return there (every op of autograd/ops.h and ops_nograd.h, and
 * tg_detach) belong to the scope, which releases them when it ends. Code
 * inside a scope does not release what ops return; it keeps what must
 * outlive the scope with tg_keep:
 *
 *     int scope = tg_scope_begin();
 *     if (scope < 0) return NULL;
 *     tg_tensor *h = tg_relu(tg_conv2d(x, w, NULL, opts));
 *     return tg_scope_return(scope, tg_add(h, x));
 *
 * tg_scope_return keeps the sum and ends the scope, releasing h and the
 * conv's output; the sum goes to the caller's scope, or to the caller.
 * A failed op returns NULL, which later ops pass on with its error kept, so
 * a chain of ops needs one check at its end.
 *
 * A tensor kept from a scope nested in another belongs to the outer one; kept
 * from the outermost, the caller owns it and releases it. Autograd's saved
 * tensors hold their own references, so a graph built in a scope can be
 * backpropagated after it ends. Scopes nest and are per thread; tensors made
 * any other way (tg_zeros, tg_from_data, tg_grad...) are the caller's unless
 * handed to the scope with tg_scoped. */
#ifndef TG_SCOPE_H
#define TG_SCOPE_H

#include "tensor/export.h"
#include "tensor/tensor.h"

/* Opens a scope; returns its token (> 0) for tg_scope_end, or -1 with error. */
TG_API int tg_scope_begin(void);
/* Ends the scope whose token this is and any left open inside it,
 * releasing what they hold. A token of no open scope does nothing. */
TG_API void tg_scope_end(int token);
/* t kept past the current scope: a new reference that the enclosing scope
 * holds, or the caller when none encloses it. No scope: t unchanged. NULL
 * (from a failed op) gives NULL, keeping the op's error. */
TG_API tg_tensor *tg_keep(tg_tensor *t);
/* tg_keep(t), then tg_scope_end(token): t is returned from the scope. */
TG_API tg_tensor *tg_scope_return(int token, tg_tensor *t);
/* Hands the caller's reference to t to the current scope and returns t
 * (NULL with error if the scope cannot grow: t is released). No scope: t
 * unchanged. */
TG_API tg_tensor *tg_scoped(tg_tensor *t);

#endif
