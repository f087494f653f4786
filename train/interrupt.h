/* Ctrl-C for training programs: once installed, the first SIGINT (or
 * SIGTERM) asks the training loop to stop at the next step boundary, save
 * its checkpoint and return, so the program can exit 0; a second one ends
 * the program at once, as usual. */
#ifndef TG_TRAIN_INTERRUPT_H
#define TG_TRAIN_INTERRUPT_H

#include <stdbool.h>

#include "tensor/export.h"

/* Installs the handler for SIGINT and SIGTERM. 0, or -1 when the system
 * refuses. */
TG_API int tg_train_interrupt_install(void);
/* Whether a stop was asked (and not cleared since). */
TG_API bool tg_train_interrupt_requested(void);
/* Forgets a stop request, for a program that handled it and trains on. */
TG_API void tg_train_interrupt_clear(void);

#endif
