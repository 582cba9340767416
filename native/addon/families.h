// Each kernel family registers its bindings here (one binding file per family, see DESIGN §1).
#pragma once

#include <napi.h>

namespace distiq::addon {

void init_cpu(Napi::Env env, Napi::Object exports);        // ops_cpu.cc
void init_gemm_s8(Napi::Env env, Napi::Object exports);    // ops_gemm_s8.cc + packed_weights.cc
void init_gemm_f32(Napi::Env env, Napi::Object exports);   // ops_gemm_f32.cc
void init_quant(Napi::Env env, Napi::Object exports);      // ops_quant.cc
void init_softmax(Napi::Env env, Napi::Object exports);    // ops_softmax_kl.cc
void init_gemm_s4(Napi::Env env, Napi::Object exports);    // ops_gemm_s4.cc + packed_weights_s4.cc
void init_optim(Napi::Env env, Napi::Object exports);      // ops_optim.cc

}  // namespace distiq::addon
