/* The progress display: a redrawn line on a terminal, a line every few
 * seconds and at each epoch's end elsewhere. A fake clock stands for time. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "tensorgrad.h"

static double fake_now;
static double fake_clock(void) { return fake_now; }

/* Everything written to f so far. */
static char *contents(FILE *f)
{
    fflush(f);
    long size = ftell(f);
    char *text = calloc((size_t)size + 1, 1);
    ck_assert_ptr_nonnull(text);
    rewind(f);
    ck_assert_int_eq(fread(text, 1, (size_t)size, f), size);
    return text;
}

static int count(const char *text, char c)
{
    int n = 0;
    for (; *text; text++) n += *text == c;
    return n;
}

/* 2 epochs of 10 steps, one second a step, a line every 4 seconds: lines
 * after steps 4 and 8, the epoch's end at 10, then 14, 18 and 20. */
START_TEST(test_plain_lines_every_interval_and_epoch)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    fake_now = 100;
    tg_train_progress p;
    tg_train_progress_init(&p, 20, 10, 0, &(tg_train_progress_opts){.out = f, .interval = 4, .clock = fake_clock});
    for (int step = 1; step <= 20; step++) {
        fake_now += 1;
        tg_train_progress_show(&p, step, 8, "loss 1.0");
    }
    char *text = contents(f);
    ck_assert_int_eq(count(text, '\n'), 6);
    ck_assert_int_eq(count(text, '\r'), 0);
    ck_assert_ptr_nonnull(strstr(text, "epoch 1/2 [########------------] 4/10  loss 1.0  8.0 img/s  ETA 0:16\n"));
    ck_assert_ptr_nonnull(strstr(text, "epoch 1/2 [####################] 10/10"));
    ck_assert_ptr_nonnull(strstr(text, "epoch 2/2 [####################] 10/10  loss 1.0  8.0 img/s  ETA 0:00\n"));
    ck_assert_ptr_null(strstr(text, " 5/10"));
    free(text);
    fclose(f);
}
END_TEST

/* A resumed run counts its rate from where it started. */
START_TEST(test_rate_counts_from_the_resumed_step)
{
    FILE *f = tmpfile();
    fake_now = 0;
    tg_train_progress p;
    tg_train_progress_init(&p, 20, 10, 10, &(tg_train_progress_opts){.out = f, .clock = fake_clock});
    fake_now = 4;
    tg_train_progress_show(&p, 12, 10, "x");
    fake_now = 20;
    tg_train_progress_show(&p, 20, 10, "x");
    char *text = contents(f);
    ck_assert_ptr_nonnull(strstr(text, "epoch 2/2 [####################] 10/10  x  5.0 img/s"));
    ck_assert_int_eq(count(text, '\n'), 1);
    free(text);
    fclose(f);
}
END_TEST

/* On a terminal every step redraws the line in place; it ends with the
 * epoch, or with done() when the run stops within one. */
START_TEST(test_terminal_redraws_one_line)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    FILE *tty = fopen(ptsname(master), "w");
    ck_assert_ptr_nonnull(tty);
    fake_now = 0;
    tg_train_progress p;
    tg_train_progress_init(&p, 10, 5, 0, &(tg_train_progress_opts){.out = tty, .interval = 100, .clock = fake_clock});
    ck_assert(p.tty);
    for (int step = 1; step <= 7; step++) tg_train_progress_show(&p, step, 1, "t");
    tg_train_progress_done(&p);
    fclose(tty);
    char buf[4096] = {0};
    size_t got = 0;
    ck_assert_int_eq(fcntl(master, F_SETFL, O_NONBLOCK), 0);
    for (ssize_t n; (n = read(master, buf + got, sizeof buf - 1 - got)) > 0;) got += (size_t)n;
    ck_assert_int_gt(got, 0);
    ck_assert_int_eq(count(buf, '\r'), 7 + 2); /* a redraw a step; the terminal turns both newlines into \r\n */
    ck_assert_int_eq(count(buf, '\n'), 2);
    ck_assert_ptr_nonnull(strstr(buf, "\repoch 2/2 [########------------] 2/5  t"));
    close(master);
}
END_TEST

Suite *progress_suite(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("display");
    tcase_add_test(tc, test_plain_lines_every_interval_and_epoch);
    tcase_add_test(tc, test_rate_counts_from_the_resumed_step);
    tcase_add_test(tc, test_terminal_redraws_one_line);
    suite_add_tcase(s, tc);
    return s;
}
