/* Deterministic PNG output: the same pixels always give the same bytes.
 * Compression level, strategy and filter are fixed (libpng's defaults may
 * change between versions) and no tIME or text chunk is ever written. */
#include "render_internal.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <sono/sdk/manifest.h>

typedef struct png_failure {
   char message[256];
} png_failure_t;

static void on_png_error(png_structp png, png_const_charp msg)
{
   png_failure_t *f = (png_failure_t *)png_get_error_ptr(png);
   snprintf(f->message, sizeof f->message, "%s", msg);
   png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
   (void)png;
   (void)msg;
}

static int encode(FILE *f, const canvas_t *c, unsigned char **rows, png_failure_t *failure)
{
   png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, failure, on_png_error, on_png_warning);
   png_infop info = png ? png_create_info_struct(png) : NULL;
   if (!info) {
      png_destroy_write_struct(&png, NULL);
      snprintf(failure->message, sizeof failure->message, "out of memory creating the PNG writer");
      return -1;
   }
   if (setjmp(png_jmpbuf(png))) {
      png_destroy_write_struct(&png, &info);
      return -1;
   }
   png_init_io(png, f);
   png_set_compression_level(png, 6);
   png_set_compression_strategy(png, Z_DEFAULT_STRATEGY);
   png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
   png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
   png_write_info(png, info);
   png_write_image(png, rows);
   png_write_end(png, NULL);
   png_destroy_write_struct(&png, &info);
   return 0;
}

int png_write_canvas(const canvas_t *c, unsigned char **rows, const char *path, sono_error_t *err)
{
   char tmp[SONO_PATH_SIZE + 8];
   if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
      return sono_error_set(err, "%s: path too long for a PNG output (at most %d bytes)", path, SONO_PATH_SIZE);
   for (int y = 0; y < c->h; ++y)
      rows[y] = c->pixels + (size_t)y * (size_t)c->w * 3u;
   FILE *f = fopen(tmp, "wb");
   if (!f)
      return sono_error_set(err, "%s: cannot create PNG: %s", tmp, strerror(errno));
   png_failure_t failure = {{0}};
   int rc = encode(f, c, rows, &failure);
   int close_rc = fclose(f);
   if (rc != 0 || close_rc != 0) {
      remove(tmp);
      return sono_error_set(err, "%s: writing PNG failed: %s", path,
                            rc != 0 ? failure.message : "error closing the file (disk full?)");
   }
   if (rename(tmp, path) != 0) {
      int e = errno;
      remove(tmp);
      return sono_error_set(err, "%s: cannot move PNG into place: %s", path, strerror(e));
   }
   return 0;
}
