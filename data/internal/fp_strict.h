/* Include FIRST (before any other header) in a file whose float results must
 * be bit-identical across builds, such as the ShapeScenes renderer, whose
 * pinned hash must not move with the compiler's options.
 *
 * The project compiles as ISO C11 (meson's c_std=c11 gives -std=c11), where
 * GCC's default is already -ffp-contract=off, and passes no -march or -mfma,
 * so no FMA can be formed anyway. This header keeps that true if someone
 * builds with -std=gnu11, -march=native or -ffp-contract=fast: it turns
 * contraction off for the rest of the file (GCC's optimize pragma; Clang's
 * standard FP_CONTRACT pragma, which Clang honours unless given
 * -ffp-contract=fast) and refuses -ffast-math outright. */
#ifndef TG_DATA_FP_STRICT_H
#define TG_DATA_FP_STRICT_H

#ifdef __FAST_MATH__
#error "this file must not be compiled with -ffast-math: its output is pinned bit for bit"
#endif

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#endif
