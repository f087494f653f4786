/* Ctrl-C for training programs: the first SIGINT (or SIGTERM) asks the
 * loop to stop at the next step boundary, save its checkpoint and exit
 * cleanly; a second one ends the program at once, as usual. */
#ifndef EXAMPLES_INTERRUPT_H
#define EXAMPLES_INTERRUPT_H

#include <stdbool.h>

void interrupt_install(void);
bool interrupt_requested(void);

#endif
