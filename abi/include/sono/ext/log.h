/* sonoplug ABI extension "sono.log/1": the host's log, offered to plugins
 * through host->get_extension(host, SONO_EXT_LOG).
 *
 * Ownership: `message` is owned by the caller and read during the call only.
 * Threading: [thread-safe]. The host does not block the caller: calling it
 * from process() is allowed, but messages may be dropped under load. */
#ifndef SONO_EXT_LOG_H
#define SONO_EXT_LOG_H

#include "../host.h"

SONO_EXTERN_C_BEGIN

#define SONO_EXT_LOG "sono.log/1"

typedef int32_t sono_log_severity_t;
enum {
   SONO_LOG_DEBUG = 0,
   SONO_LOG_INFO = 1,
   SONO_LOG_WARNING = 2,
   SONO_LOG_ERROR = 3
};

typedef struct sono_host_log {
   /* Logs a UTF-8 message. [thread-safe] */
   void(SONO_ABI *log)(const sono_host_t *host, sono_log_severity_t severity, const char *message);
} sono_host_log_t;

SONO_EXTERN_C_END

#endif
