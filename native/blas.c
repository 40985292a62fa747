// Optional native GEMM for alpt: a plain N-API (C) binding to OpenBLAS's cblas_sgemm.
//
//   sgemm(transA, transB, m, n, k, alpha, A, B, beta, C[, bias])  row-major, Float32Arrays
//   setThreads(n) / getThreads()                                    openblas_{set,get}_num_threads
//   config()  -> { config, corename, threads }                      openblas_get_config/corename
//
// Every argument is checked (types, integer sizes, array lengths against the operand extents) and
// a bad one throws a JS TypeError/RangeError; nothing here may crash the process. Float32Arrays may
// be views into a SharedArrayBuffer (the WebAssembly backend's shared memory): N-API hands out the
// data pointer of either kind of buffer, and the call is synchronous, so the memory stays put.

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      throw_last(env);                                                     \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static void throw_last(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "N-API call failed");
}

static napi_value throw_type(napi_env env, const char* msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value throw_range(napi_env env, const char* msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

// A JS boolean (or number, nonzero = true).
static int get_flag(napi_env env, napi_value v, bool* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_boolean) return napi_get_value_bool(env, v, out) == napi_ok;
  if (t == napi_number) {
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
    *out = d != 0;
    return 1;
  }
  return 0;
}

// A non-negative integer that fits OpenBLAS's 32-bit blasint.
static int get_dim(napi_env env, napi_value v, int* out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= 2147483647.0) || d != floor(d)) return 0;
  *out = (int)d;
  return 1;
}

static int get_scalar(napi_env env, napi_value v, float* out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  *out = (float)d;
  return 1;
}

// A Float32Array with at least `need` elements; its data pointer (NULL allowed when need == 0).
static int get_f32(napi_env env, napi_value v, uint64_t need, float** data, const char* name) {
  char msg[160];
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    snprintf(msg, sizeof msg, "sgemm: %s must be a Float32Array", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok) {
    throw_last(env);
    return 0;
  }
  if (type != napi_float32_array) {
    snprintf(msg, sizeof msg, "sgemm: %s must be a Float32Array", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  if ((uint64_t)length < need || (need > 0 && ptr == NULL)) {
    snprintf(msg, sizeof msg, "sgemm: %s has %zu elements, needs %llu", name, length, (unsigned long long)need);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  *data = (float*)ptr;
  return 1;
}

static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) return throw_type(env, "sgemm(transA, transB, m, n, k, alpha, A, B, beta, C[, bias]): too few arguments");

  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  if (!get_flag(env, argv[0], &ta) || !get_flag(env, argv[1], &tb))
    return throw_type(env, "sgemm: transA and transB must be booleans");
  if (!get_dim(env, argv[2], &m) || !get_dim(env, argv[3], &n) || !get_dim(env, argv[4], &k))
    return throw_range(env, "sgemm: m, n and k must be integers in [0, 2^31)");
  if (!get_scalar(env, argv[5], &alpha) || !get_scalar(env, argv[8], &beta))
    return throw_type(env, "sgemm: alpha and beta must be numbers");

  uint64_t mk = (uint64_t)m * k, kn = (uint64_t)k * n, mn = (uint64_t)m * n;
  float *a = NULL, *b = NULL, *c = NULL, *bias = NULL;
  if (!get_f32(env, argv[6], mk, &a, "A") || !get_f32(env, argv[7], kn, &b, "B") ||
      !get_f32(env, argv[9], mn, &c, "C"))
    return NULL;
  bool has_bias = false;
  if (argc > 10) {
    napi_valuetype t;
    CHECK(env, napi_typeof(env, argv[10], &t));
    if (t != napi_undefined && t != napi_null) {
      if (!get_f32(env, argv[10], (uint64_t)n, &bias, "bias")) return NULL;
      has_bias = true;
    }
  }
  if (m == 0 || n == 0) return NULL;

  // Bias: C := beta·C + bias (beta = 0 overwrites, so NaN/garbage in C never leaks), then beta = 1.
  if (has_bias) {
    for (int i = 0; i < m; i++) {
      float* row = c + (size_t)i * n;
      if (beta == 0.0f) memcpy(row, bias, (size_t)n * sizeof(float));
      else for (int j = 0; j < n; j++) row[j] = beta * row[j] + bias[j];
    }
    beta = 1.0f;
  }
  if (k == 0 || alpha == 0.0f) {
    if (!has_bias && beta != 1.0f) {
      for (uint64_t i = 0; i < mn; i++) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    }
    return NULL;
  }
  // Row-major: A is m×k (lda = k) or, transposed, k×m (lda = m); likewise B.
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
              ta ? m : k, b, tb ? k : n, beta, c, n);
  return NULL;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int n;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_dim(env, argv[0], &n) || n < 1 || n > 1024)
    return throw_range(env, "setThreads: n must be an integer in [1, 1024]");
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, s;
  CHECK(env, napi_create_object(env, &obj));
  const char* cfg = openblas_get_config();
  CHECK(env, napi_create_string_utf8(env, cfg ? cfg : "", NAPI_AUTO_LENGTH, &s));
  CHECK(env, napi_set_named_property(env, obj, "config", s));
  const char* core = openblas_get_corename();
  CHECK(env, napi_create_string_utf8(env, core ? core : "", NAPI_AUTO_LENGTH, &s));
  CHECK(env, napi_set_named_property(env, obj, "corename", s));
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &s));
  CHECK(env, napi_set_named_property(env, obj, "threads", s));
  return obj;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"config", NULL, Config, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
