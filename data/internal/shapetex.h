/* The texture families of ShapeScenes (internal to data/shapescenes*.c).
 *
 * A texture maps a point, given in the texture's own frame in pixels, to a
 * blend factor in [0, 1] between the two colours of whatever wears it. The
 * first eight families are the class-tied object textures (family = class
 * id - 1); the last five are the background "stuff" families that objects
 * never wear. All of them are integer-hash lattices and float arithmetic with
 * floorf and sqrtf only, so they are the same bits on every platform. */
#ifndef TG_DATA_SHAPETEX_H
#define TG_DATA_SHAPETEX_H

#include <stdint.h>

typedef enum tg_shapetex_family {
    /* object textures, in class order */
    TG_SHAPETEX_RINGS,   /* concentric rings */
    TG_SHAPETEX_CHECKER, /* checkerboard */
    TG_SHAPETEX_STRIPES, /* parallel stripes */
    TG_SHAPETEX_DOTS,    /* polka dots */
    TG_SHAPETEX_FBM,     /* value-noise fBm, 4 octaves */
    TG_SHAPETEX_CHEVRON, /* zig-zag stripes */
    TG_SHAPETEX_VORONOI, /* Voronoi cell borders */
    TG_SHAPETEX_GRID,    /* grid lines */
    /* background "stuff" */
    TG_SHAPETEX_CLOUDS,  /* large-scale fBm */
    TG_SHAPETEX_WOOD,    /* elongated rings bent by noise */
    TG_SHAPETEX_CRACKS,  /* large Voronoi cells, each its own shade, thin dark cracks */
    TG_SHAPETEX_STROKES, /* anisotropic noise: grass-like strokes */
    TG_SHAPETEX_HORIZON, /* two tones split by a wavy line, plus noise */
    TG_SHAPETEX_COUNT
} tg_shapetex_family;

#define TG_SHAPETEX_OBJECT_FAMILIES 8
#define TG_SHAPETEX_STUFF_FAMILIES 5

typedef struct tg_shapetex {
    tg_shapetex_family family;
    float period; /* pixels: the family's repeat, cell or feature size */
    uint32_t seed; /* lattice hash seed */
} tg_shapetex;

/* A texture of the family whose period is picked by u in [0, 1) from the
 * family's range (4-10 px for object families, larger for most stuff). */
tg_shapetex tg_shapetex_make(tg_shapetex_family family, float u, uint32_t seed);

/* The blend factor in [0, 1] at (x, y), in pixels in the texture's frame. */
float tg_shapetex_eval(const tg_shapetex *t, float x, float y);

#endif
