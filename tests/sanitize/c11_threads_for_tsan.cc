// C11 threads (<threads.h>) forwarded to POSIX threads, linked into ThreadSanitizer
// builds only (tests/sanitize.sh tsan).
//
// Why: librdkafka (Debian's 2.0.2) creates its threads and locks its mutexes through
// glibc's C11 functions, which call glibc's internal pthread code directly and so bypass
// the interceptors of GCC 12's libtsan (it has none for thrd_*, mtx_*, cnd_*). A thread
// TSan never saw start crashes in its allocator on its first malloc, and synchronisation
// TSan cannot see would be reported as races. Defined in the executable, these take
// precedence over glibc's for librdkafka too, and they call the pthread functions TSan
// intercepts. glibc's own C11 functions are the same thin wrappers (same types, same
// error mapping), so behaviour is unchanged.
//
// The memory accesses of these calls are ignored (their synchronisation is not): the
// objects are librdkafka's, published between its threads through atomics TSan cannot
// see, as with every call librdkafka makes itself (tests/tsan.supp, called_from_lib).

#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();

namespace {

/// Ignores the calling thread's memory accesses while it lives; synchronisation counts.
struct IgnoreAccesses {
  IgnoreAccesses() { __tsan_ignore_thread_begin(); }
  ~IgnoreAccesses() { __tsan_ignore_thread_end(); }
  IgnoreAccesses(const IgnoreAccesses&) = delete;
  IgnoreAccesses& operator=(const IgnoreAccesses&) = delete;
};

int to_thrd(int posix_error) {
  switch (posix_error) {
    case 0: return thrd_success;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

struct ThreadStart {
  thrd_start_t function;
  void* argument;
};

void* run_thread(void* start) {
  const ThreadStart s = *static_cast<ThreadStart*>(start);
  delete static_cast<ThreadStart*>(start);
  return reinterpret_cast<void*>(static_cast<intptr_t>(s.function(s.argument)));
}

pthread_mutex_t* as_posix(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* as_posix(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(thrd_t) == sizeof(pthread_t));
static_assert(sizeof(once_flag) == sizeof(pthread_once_t));

}  // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
  auto* start = new (std::nothrow) ThreadStart{function, argument};
  if (start == nullptr) return thrd_nomem;
  const int rc = pthread_create(thread, nullptr, run_thread, start);
  if (rc != 0) delete start;
  return to_thrd(rc);
}

int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  const int rc = pthread_join(thread, &value);
  if (rc == 0 && result != nullptr) *result = static_cast<int>(reinterpret_cast<intptr_t>(value));
  return to_thrd(rc);
}

int thrd_detach(thrd_t thread) { return to_thrd(pthread_detach(thread)); }

int mtx_init(mtx_t* mutex, int type) {
  IgnoreAccesses ignore;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(as_posix(mutex), &attr);
  pthread_mutexattr_destroy(&attr);
  return to_thrd(rc);
}
int mtx_lock(mtx_t* mutex) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_mutex_lock(as_posix(mutex)));
}
int mtx_trylock(mtx_t* mutex) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_mutex_trylock(as_posix(mutex)));
}
int mtx_timedlock(mtx_t* __restrict mutex, const struct timespec* __restrict deadline) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_mutex_timedlock(as_posix(mutex), deadline));
}
int mtx_unlock(mtx_t* mutex) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_mutex_unlock(as_posix(mutex)));
}
void mtx_destroy(mtx_t* mutex) {
  IgnoreAccesses ignore;
  pthread_mutex_destroy(as_posix(mutex));
}

int cnd_init(cnd_t* cond) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_cond_init(as_posix(cond), nullptr));
}
int cnd_signal(cnd_t* cond) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_cond_signal(as_posix(cond)));
}
int cnd_broadcast(cnd_t* cond) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_cond_broadcast(as_posix(cond)));
}
int cnd_wait(cnd_t* cond, mtx_t* mutex) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_cond_wait(as_posix(cond), as_posix(mutex)));
}
int cnd_timedwait(cnd_t* __restrict cond, mtx_t* __restrict mutex, const struct timespec* __restrict deadline) {
  IgnoreAccesses ignore;
  return to_thrd(pthread_cond_timedwait(as_posix(cond), as_posix(mutex), deadline));
}
void cnd_destroy(cnd_t* cond) {
  IgnoreAccesses ignore;
  pthread_cond_destroy(as_posix(cond));
}

void call_once(once_flag* flag, void (*function)(void)) {
  IgnoreAccesses ignore;
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), function);
}

}  // extern "C"
