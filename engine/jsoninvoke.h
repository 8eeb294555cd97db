/* jsoninvoke.h — an Invoke result's printed JSON, written in one call (`api Invoke` prints
 * one per invocation: W2's 10,000).
 *
 * lambdaeng.native.json.invoke_printed(status_code, payload, function_error, log_result,
 *                                     executed_version) -> text | nil, message
 *   The members of what aws/lambda_api.lua's Api:invoke returns (status_code an integer,
 *   the others each a string or nil), as arguments rather than the table (reading a
 *   table's fields from C cost more than the writing).
 *   text: json.encode_plain's text of that table, byte for byte (keys sorted, nil members
 *   left out), except a payload that is not valid UTF-8 (JSON carries text; a function may
 *   answer any bytes): it is written as "payload_base64" with the bytes in standard base64
 *   (RFC 4648, padded), as `lambdaeng invoke --json` writes it, never refused or changed.
 *   nil, message: another member (a header's value) is not UTF-8, which only a broken
 *   endpoint sends (the message names the member). A member of another type raises
 *   (misuse: Api:invoke makes no such result). */
#ifndef LAMBDAENG_JSONINVOKE_H
#define LAMBDAENG_JSONINVOKE_H

struct lua_State;

int le_json_invoke_printed(struct lua_State *L);

#endif
