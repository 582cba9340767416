// The Promise form of a kernel call: an AsyncWorker on the libuv pool that runs a plain C++ closure (raw pointers
// and dimensions captured on the JS thread, never a JS value), keeps every JS buffer alive until it settles, and
// resolves with undefined or rejects with the same error the synchronous form would throw.
#pragma once

#include <napi.h>

#include <functional>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "distiq/types.h"

namespace distiq::addon {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::string what, std::function<Status()> run)
      : Napi::AsyncWorker(env, "distiq"), deferred_(Napi::Promise::Deferred::New(env)), what_(std::move(what)),
        run_(std::move(run)) {}

  // Keeps `v` (a TypedArray or handle) from being collected until the promise settles. Ignores empty values.
  void keep(Napi::Value v) {
    if (!v.IsEmpty() && v.IsObject()) kept_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

  // Queues the work and returns its promise (the worker deletes itself after settling).
  Napi::Promise start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      status_ = run_();
    } catch (const std::bad_alloc&) {
      status_ = Status::kOutOfMemory;
    }
  }
  void OnOK() override {
    if (status_ == Status::kOk) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(status_error(Env(), status_, what_).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string what_;
  std::function<Status()> run_;
  Status status_ = Status::kOk;
  std::vector<Napi::ObjectReference> kept_;
};

}  // namespace distiq::addon
