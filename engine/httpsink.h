/* httpsink.h — a request's body given to its sink as it arrives (http.h: a spec's sink),
 * for answers read as they come (InvokeWithResponseStream's event stream).
 * The transports note a transfer each time body bytes are appended (le_http_sink_note,
 * from inside libcurl's write callback or the own transport's read); a uv_check handle
 * then, on the same turn of the loop and outside any libcurl call, gives each noted
 * transfer's new bytes to its sink and drops them from its buffer. Only a 2xx answer's
 * bytes are given: an error's body stays whole in the response, for its reader. A sink
 * that returns nonzero ends its transfer (http.c: kind "stopped"). le_http_end gives the
 * last bytes (le_http_sink_give) before the callback, so the response's body is empty
 * for a 2xx answer that had a sink. */
#ifndef LAMBDAENG_HTTPSINK_H
#define LAMBDAENG_HTTPSINK_H

#include "error.h"

struct le_http_transfer;

int le_http_sink_open(le_error *err);
void le_http_sink_close(void);
/* t's body grew (a no-op for a transfer without a sink). */
void le_http_sink_note(struct le_http_transfer *t);
/* Gives t's bytes not given yet to its sink (a 2xx answer's only); returns the sink's
 * result (0: go on). */
int le_http_sink_give(struct le_http_transfer *t);
/* t ends: out of the noted list. */
void le_http_sink_forget(struct le_http_transfer *t);

#endif
