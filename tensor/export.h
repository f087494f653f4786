/* The export macro. Every function a public header declares is marked
 * TG_API; the library is built with hidden visibility, so those are the
 * only symbols it exports, and everything else (the tg_k_ kernels,
 * internal/ headers) stays inside it. tests/symbols.sh checks both. */
#ifndef TG_EXPORT_H
#define TG_EXPORT_H

#define TG_API __attribute__((visibility("default")))

#endif
