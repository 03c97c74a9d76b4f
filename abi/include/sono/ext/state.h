/* sonoplug ABI extension "sono.state/1": save and load a plugin's state
 * (for example a baseline captured before treatment), fetched with
 * plugin->get_extension(plugin, SONO_EXT_STATE).
 *
 * Streams may deliver or accept fewer bytes than asked, down to one byte per
 * call: a plugin loops until it has what it needs. A state blob must be
 * self-describing (magic, version, length, checksum) so that truncated or
 * foreign bytes are refused without a crash. Saving the same state twice
 * gives identical bytes (no uninitialised padding, no timestamps).
 *
 * Ownership: streams are host-owned and valid during the call only.
 * Threading: [main-thread & (initialised | active)], never concurrently with
 * process() on the same instance. */
#ifndef SONO_EXT_STATE_H
#define SONO_EXT_STATE_H

#include "../plugin.h"

SONO_EXTERN_C_BEGIN

#define SONO_EXT_STATE "sono.state/1"

typedef struct sono_istream {
   void *ctx; /* reserved for the host */
   /* Reads up to `size` bytes into `buf` (caller-owned). Returns the number
    * read (>= 1), 0 at end of stream, or -1 on error.
    * [the thread calling load()] */
   int64_t(SONO_ABI *read)(const struct sono_istream *stream, void *buf, uint64_t size);
} sono_istream_t;

typedef struct sono_ostream {
   void *ctx; /* reserved for the host */
   /* Writes up to `size` bytes from `buf` (caller-owned, read during the
    * call only). Returns the number written (>= 1), or -1 on error.
    * [the thread calling save()] */
   int64_t(SONO_ABI *write)(const struct sono_ostream *stream, const void *buf, uint64_t size);
} sono_ostream_t;

typedef struct sono_plugin_state {
   /* Writes the whole state. Returns false on a stream error.
    * [main-thread & (initialised | active) & !processing] */
   bool(SONO_ABI *save)(const sono_plugin_t *plugin, const sono_ostream_t *stream);

   /* Replaces the state from `stream`. Returns false, leaving the current
    * state unchanged, when the bytes are not a valid state.
    * [main-thread & (initialised | active) & !processing] */
   bool(SONO_ABI *load)(const sono_plugin_t *plugin, const sono_istream_t *stream);
} sono_plugin_state_t;

SONO_EXTERN_C_END

#endif
