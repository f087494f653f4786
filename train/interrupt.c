/* Ctrl-C as a request to stop (see interrupt.h). */
#include "train/interrupt.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "tensor/error.h"

static volatile sig_atomic_t requested;

static void on_signal(int sig)
{
    (void)sig;
    requested = 1;
}

int tg_train_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* the second signal takes the default action; system calls the first
     * one lands in (a blocking read or write) go on rather than fail */
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return TG_FAIL("interrupt_install: %s", strerror(errno));
    return 0;
}

bool tg_train_interrupt_requested(void) { return requested != 0; }

void tg_train_interrupt_clear(void) { requested = 0; }
