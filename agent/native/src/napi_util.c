/* N-API helpers of the addon (napi_util.h). */
#include "napi_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sn_throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_STRATA_NATIVE", info && info->error_message ? info->error_message : "N-API call failed");
}

int sn_get_bytes(napi_env env, napi_value v, const char *what, const uint8_t **data, size_t *n) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type t;
    void *p = NULL;
    size_t len = 0;
    if (napi_get_typedarray_info(env, v, &t, &len, &p, NULL, NULL) != napi_ok) return sn_throw_last(env), 0;
    if (t == napi_uint8_array) {
      *data = len ? p : (const uint8_t *)"";
      *n = len;
      return 1;
    }
  }
  char msg[160];
  snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return 0;
}

int sn_args(napi_env env, napi_callback_info info, size_t need, size_t max, napi_value *argv, const char *missing) {
  size_t argc = max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    sn_throw_last(env);
    return 0;
  }
  if (argc < need) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", missing);
    return 0;
  }
  return 1;
}

napi_value sn_oom(napi_env env) {
  napi_throw_error(env, "ERR_STRATA_NATIVE", "out of memory");
  return NULL;
}

int sn_get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  double d = 0;
  if (t == napi_number) napi_get_value_double(env, v, &d);
  if (t != napi_number || d != d || d < 0 || d > 4294967295.0 || d != (double)(uint64_t)d) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s must be an integer from 0 to 2^32-1", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

/* Externals are tagged so that a stream is never taken for a config or a stray external. */
const napi_type_tag SN_PARAMS_TAG = {0x7374726174615f70ULL, 0x6172616d73763101ULL};
const napi_type_tag SN_STREAM_TAG = {0x7374726174615f73ULL, 0x747265616d763101ULL};

void *sn_get_tagged(napi_env env, napi_value v, const napi_type_tag *tag, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  bool ok = false;
  if (t == napi_external) napi_check_object_type_tag(env, v, tag, &ok);
  void *p = NULL;
  if (ok) napi_get_value_external(env, v, &p);
  if (!p) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: not a handle made by this addon", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  }
  return p;
}

void sn_free_ptr(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

napi_value sn_make_cuts(napi_env env, const cuts_t *c) {
  napi_value ab, ends, hashes, obj;
  void *p = NULL;
  CHECK(env, napi_create_arraybuffer(env, c->count * 4, &p, &ab));
  if (c->count) memcpy(p, c->ends, c->count * 4);
  CHECK(env, napi_create_typedarray(env, napi_uint32_array, c->count, ab, 0, &ends));
  CHECK(env, napi_create_buffer_copy(env, c->count * 32, c->count ? (const void *)c->hashes : "", NULL, &hashes));
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_set_named_property(env, obj, "ends", ends));
  CHECK(env, napi_set_named_property(env, obj, "hashes", hashes));
  return obj;
}
