/*
 * props_api.h - between the public struct ferry_properties (ferry.h) and the
 * codec's struct ferry_props (props.h): importing what the application
 * sends, viewing what the broker sent, copying both.
 *
 * Pure: no I/O, threads or clock; it allocates only the blocks it returns.
 *
 * Ownership:
 *  - ferry__props_import and ferry__props_clone fill a struct ferry_props
 *    whose views point into one block they allocate (*mem, NULL when nothing
 *    needed copying); the caller frees *mem with free() once it no longer
 *    uses the struct.
 *  - ferry__props_view writes a public view into memory the caller gives,
 *    of the size ferry__props_view_size asked for; the view points into that
 *    memory only (the decoded frame may go).
 *  - ferry__api_props_copy likewise copies a public struct into caller
 *    memory sized by ferry__api_props_size.
 */
#ifndef FERRY_PROPS_API_H
#define FERRY_PROPS_API_H

#include <stddef.h>

#include "ferry/ferry.h"
#include "props.h"

/*
 * ferry__props_import - check the application's properties for a packet
 * (ctx: FERRY_PCTX_WILL or a packet type of props.h) and copy them.
 * in may be NULL (out is then empty). Received-only fields are ignored.
 * Returns FERRY_OK or FERRY_ERR_PROPERTY_NOT_ALLOWED (a property the packet
 * cannot carry from a client), FERRY_ERR_PROPERTY_VALUE, FERRY_ERR_UTF8,
 * FERRY_ERR_UTF8_NUL, FERRY_ERR_STRING_TOO_LONG, FERRY_ERR_TOPIC_NAME
 * (response topic), FERRY_ERR_INVAL (a count without its array, a NULL
 * user property name or value), FERRY_ERR_NOMEM.
 */
int ferry__props_import(const struct ferry_properties *in, int ctx, struct ferry_props *out,
                        void **mem);

/*
 * ferry__props_clone - a copy of internal properties (decoded ones too:
 * their user properties are read from `raw`) that owns its bytes.
 * Returns FERRY_OK or FERRY_ERR_NOMEM.
 */
int ferry__props_clone(const struct ferry_props *in, struct ferry_props *out, void **mem);

/* Whether in holds anything at all. */
bool ferry__props_any(const struct ferry_props *in);

/* Bytes ferry__props_view needs for in (decoded or built). */
size_t ferry__props_view_size(const struct ferry_props *in);

/* The public view of in, built in mem (size from ferry__props_view_size,
 * aligned for pointers). */
void ferry__props_view(const struct ferry_props *in, void *mem, struct ferry_properties *out);

/* Bytes a deep copy of a public struct needs (beyond the struct itself). */
size_t ferry__api_props_size(const struct ferry_properties *in);

/* Deep copy of in into out, its strings and arrays in mem (sized above). */
void ferry__api_props_copy(const struct ferry_properties *in, void *mem,
                           struct ferry_properties *out);

#endif
