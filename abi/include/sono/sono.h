/* sonoplug ABI: convenience header including the whole core ABI. */
#ifndef SONO_SONO_H
#define SONO_SONO_H

#include "version.h"
#include "entry.h"
#include "frame.h"
#include "events.h"
#include "host.h"
#include "plugin.h"
#include "factory.h"
#include "ext/log.h"
#include "ext/params.h"
#include "ext/state.h"

#endif
