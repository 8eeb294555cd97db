/* funcanswer.h — a GetFunction answer read straight into what a refresh (and import) takes
 * of it: resources/func_doc.lua's from_api of the decoded answer, without the answer's table.
 *
 * lambdaeng.native.json.func_answer(text, mt, no_nested[, region]) -> projection | false
 *   projection (a table with metatable mt): args and nested, what func_doc.from_api(cfg, doc)
 *   gives for the answer decoded as func.lua's read decodes it (lambda_call.decode_fast with
 *   its READ_SHAPE: nulls dropped, integers exact), nested being no_nested when from_api's
 *   would be its shared empty one; and cfg, the configuration's members attrs_from reads
 *   (FunctionArn, LastModified, CodeSize, CodeSha256, State, SigningJobArn,
 *   SigningProfileVersionArn) as the decoded configuration has them; with a region (a
 *   string), instead of cfg, attrs: func.lua's attrs_from(cfg, region, "$LATEST", args.tags or {}, nested), its
 *   tags_all args.tags itself (or a new empty table) and its nested blocks nested's tables.
 *   false: the answer holds anything this reader does not take, and the decoder and from_api
 *   (the reference) must read it: a member outside the common ones (a VpcConfig with subnets,
 *   groups or IPv6, FileSystemConfigs, ImageConfigResponse, DeadLetterConfig,
 *   Configuration.ImageConfig, an Environment's Error, TagsError, any unknown one, also inside
 *   LoggingConfig, RuntimeVersionConfig or a layer; more than 5 layers, a layer without an Arn),
 *   a member twice (but inside LoggingConfig, RuntimeVersionConfig or its Error: the decoder
 *   takes that too), a string with an escape (except in a member only checked: a bad escape)
 *   or a control byte, a number that is not a plain integer of at most 18 digits, a value of
 *   another JSON type than the shape's, a null where the decoder declines, or text that is not
 *   one JSON object. So a projection is given only for answers the decoder also takes, and
 *   equals from_api's (lua.func_answer compares them over generated answers). */
#ifndef LAMBDAENG_FUNCANSWER_H
#define LAMBDAENG_FUNCANSWER_H

struct lua_State;

int le_json_func_answer(struct lua_State *L);

#endif
