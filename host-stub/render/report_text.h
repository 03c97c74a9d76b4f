/* Internal to sono_render: a growable text buffer with HTML escaping and
 * base64, for the report. */
#ifndef SONO_RENDER_REPORT_TEXT_H
#define SONO_RENDER_REPORT_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct strbuf {
   char *data;
   size_t len, cap;
   int failed;      /* an allocation failed; the text is incomplete */
} strbuf_t;

void sb_free(strbuf_t *b);
void sb_add(strbuf_t *b, const char *s);
void sb_addn(strbuf_t *b, const char *s, size_t n);
void sb_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` with & < > " ' replaced by entities; NULL appends nothing. */
void sb_escape(strbuf_t *b, const char *s);
void sb_base64(strbuf_t *b, const uint8_t *bytes, size_t n);

#endif
