/* Gradcheck rows: the fused recurrent cells, LSTM (both outputs, through
 * h' + 0.7 c') and GRU (through every input), transposed inputs included. */
#include "gradcheck_cases.h"

static tg_tensor *f_lstm_cell(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *h = NULL, *cell = NULL;
    if (tg_lstm_cell(x[0], x[1], &h, &cell)) return NULL;
    tg_tensor *scaled = tg_mul_scalar(cell, 0.7f), *out = scaled ? tg_add(h, scaled) : NULL;
    tg_release(h), tg_release(cell), tg_release(scaled);
    return out;
}

static tg_tensor *f_gru_cell(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_gru_cell(x[0], x[1], x[2]);
}

const gc_case gc_rnn[] = {
    {"lstm_cell", f_lstm_cell, "3,8 | 3,2"},
    {"lstm_cell transposed gates, constant c", f_lstm_cell, "3,8T | 3,2N"},
    {"gru_cell", f_gru_cell, "3,6 | 3,6 | 3,2"},
    {"gru_cell transposed h", f_gru_cell, "2,9 | 2,9 | 2,3T"},
    GC_END,
};
